package gateway

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	degraded prometheus.Counter
	shed     *prometheus.CounterVec
	retries  prometheus.Counter
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(g *Gateway) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_requests_total",
		Help: "Chat requests by priority class and outcome (ok, degraded, shed, error)."}, []string{"class", "outcome"})
	m.degraded = prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_degraded_total",
		Help: "Requests answered by the fallback."})
	m.shed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_shed_total",
		Help: "Requests refused by the token bucket, by priority class."}, []string{"class"})
	m.retries = prometheus.NewCounter(prometheus.CounterOpts{Name: "gateway_retries_total",
		Help: "Retries sent to the primary pool."})
	m.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_upstream_attempts_total",
		Help: "Requests sent to an upstream, first attempts and retries alike, whatever their answer."}, []string{"upstream"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_request_duration_seconds",
		Help:    "Chat request duration by priority class.",
		Buckets: []float64{.01, .025, .05, .1, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 10, 30}}, []string{"class"})
	m.attempts.WithLabelValues("primary")
	m.attempts.WithLabelValues("fallback")
	for _, c := range []string{"high", "low"} {
		m.shed.WithLabelValues(c)
		m.duration.WithLabelValues(c)
		for _, o := range []string{"ok", "degraded", "shed", "error"} {
			m.requests.WithLabelValues(c, o)
		}
	}
	breaker := func(upstream string, b *Breaker) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_breaker_state",
			Help:        "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
			ConstLabels: prometheus.Labels{"upstream": upstream}}, func() float64 { return float64(b.State()) })
	}
	m.reg.MustRegister(m.requests, m.degraded, m.shed, m.retries, m.attempts, m.duration,
		breaker("primary", g.primaryBreaker), breaker("fallback", g.fallbackBreaker),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_queue_depth",
			Help: "Chat requests in the gateway now."}, func() float64 { return float64(g.inflight.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gateway_ejected_replicas",
			Help: "Primary replicas ejected now."}, func() float64 { return float64(g.ejectedCount()) }),
		ejectedCollector{g.pool})
	return m
}

// ejectedCollector reports gateway_replica_ejected{replica} at scrape time,
// so a replica's return after EjectFor shows without a timer.
type ejectedCollector struct{ pool *Pool }

var ejectedDesc = prometheus.NewDesc("gateway_replica_ejected",
	"1 while a primary replica is ejected, else 0.", []string{"replica"}, nil)

func (c ejectedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- ejectedDesc }

func (c ejectedCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range c.pool.Replicas {
		v := 0.0
		if c.pool.Ejected(r) {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(ejectedDesc, prometheus.GaugeValue, v, r.Addr)
	}
}
