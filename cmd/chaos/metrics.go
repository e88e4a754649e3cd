package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// runMetrics are chaos's own Prometheus metrics while it runs
// (--metrics-listen): when each fault was on, so that a dashboard of the
// stack can shade the fault windows, and how game-days ended.
type runMetrics struct {
	active, start, end *prometheus.GaugeVec
	running            *prometheus.GaugeVec
	lastRun, lastExit  *prometheus.GaugeVec
	srv                *http.Server
	addr               string
}

// startMetrics serves /metrics on addr until stop is called.
func startMetrics(addr string, stderr io.Writer) (*runMetrics, func(), error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	fl := []string{"experiment", "fault", "kind"}
	m := &runMetrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_fault_active",
			Help: "1 while the fault is injected, 0 once it is rolled back."}, fl),
		start: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_fault_start_timestamp_seconds",
			Help: "Unix time the fault was last injected."}, fl),
		end: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_fault_end_timestamp_seconds",
			Help: "Unix time the fault was last rolled back (0 while it is on)."}, fl),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_experiment_running",
			Help: "1 while the experiment runs."}, []string{"experiment"}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_gameday_last_run_timestamp_seconds",
			Help: "Unix time the last game-day run of the suite ended."}, []string{"suite"}),
		lastExit: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chaos_gameday_last_exit_code",
			Help: "Exit code of the last game-day run of the suite (0 held, 1 failed, 3 aborted, 4 tool error)."}, []string{"suite"}),
		addr: l.Addr().String(),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.active, m.start, m.end, m.running, m.lastRun, m.lastExit)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	m.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := m.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "chaos: metrics server: %v\n", err)
		}
	}()
	fmt.Fprintf(stderr, "chaos: metrics on http://%s/metrics\n", m.addr)
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.srv.Shutdown(ctx)
	}
	return m, stop, nil
}

// onFault records a fault going on or off (the engine's OnFault hook).
func (m *runMetrics) onFault(experiment, fault, kind string, on bool, at time.Time) {
	if m == nil {
		return
	}
	ts := float64(at.UnixNano()) / 1e9
	if on {
		m.active.WithLabelValues(experiment, fault, kind).Set(1)
		m.start.WithLabelValues(experiment, fault, kind).Set(ts)
		m.end.WithLabelValues(experiment, fault, kind).Set(0)
		return
	}
	m.active.WithLabelValues(experiment, fault, kind).Set(0)
	m.end.WithLabelValues(experiment, fault, kind).Set(ts)
}

func (m *runMetrics) experiment(name string, running bool) {
	if m == nil {
		return
	}
	v := 0.0
	if running {
		v = 1
	}
	m.running.WithLabelValues(name).Set(v)
}

func (m *runMetrics) gameday(suite string, code int, at time.Time) {
	if m == nil {
		return
	}
	m.lastRun.WithLabelValues(suite).Set(float64(at.UnixNano()) / 1e9)
	m.lastExit.WithLabelValues(suite).Set(float64(code))
}
