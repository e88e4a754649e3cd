package verify

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/load"
)

// t0 is time zero of every synthetic run.
var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// at is a time s seconds into the synthetic run.
func at(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

// win is a named window [from, to) in seconds from t0.
func win(name string, from, to float64) Window { return Window{Name: name, From: at(from), To: at(to)} }

// fakeReq is one synthetic completed request.
type fakeReq struct {
	at       time.Time
	lat      time.Duration
	status   int
	degraded bool
	class    string
}

// fakeLoad is a Load with known content; Summary computes exact
// nearest-rank quantiles over the requests sent in [from, to).
type fakeLoad []fakeReq

// traffic is perSec requests a second for secs seconds from second from,
// all alike.
func traffic(from, secs float64, perSec int, lat time.Duration, status int, degraded bool, class string) fakeLoad {
	n := int(secs * float64(perSec))
	out := make(fakeLoad, n)
	for i := range out {
		out[i] = fakeReq{at: at(from + float64(i)/float64(perSec)), lat: lat, status: status, degraded: degraded, class: class}
	}
	return out
}

func join(parts ...fakeLoad) fakeLoad {
	var out fakeLoad
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (f fakeLoad) Summary(from, to time.Time, class string) load.Summary {
	s := load.Summary{From: from, To: to, Status: map[int]int64{}, Failures: map[string]int64{}}
	var lats []time.Duration
	for _, r := range f {
		if r.at.Before(from) || !r.at.Before(to) || (class != "" && r.class != class) {
			continue
		}
		s.Completed++
		s.Status[r.status]++
		lats = append(lats, r.lat)
		if r.status >= 200 && r.status < 300 {
			s.OK++
			if r.degraded {
				s.Degraded++
			}
		} else {
			s.Errors++
		}
	}
	if s.Completed > 0 {
		s.ErrorRate = float64(s.Errors) / float64(s.Completed)
		s.DegradedShare = float64(s.Degraded) / float64(s.Completed)
	}
	s.Latency = quantiles(lats)
	s.TTFTContent = s.Latency
	return s
}

func quantiles(d []time.Duration) load.Quantiles {
	if len(d) == 0 {
		return load.Quantiles{}
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	q := func(p float64) time.Duration { return d[int(math.Ceil(p*float64(len(d))))-1] }
	return load.Quantiles{P50: q(.5), P90: q(.9), P95: q(.95), P99: q(.99), Max: d[len(d)-1], Count: int64(len(d))}
}

func dur(s string) *units.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic(err)
	}
	v := units.Duration(d)
	return &v
}

func pct(f float64) *units.Percent { v := units.Percent(f / 100); return &v }

func num(f float64) *float64 { return &f }

// metricsServer is a loopback /metrics endpoint whose body and status the
// test sets between samples.
type metricsServer struct {
	*httptest.Server
	mu   sync.Mutex
	body string
	code int
}

func newMetricsServer(t *testing.T) *metricsServer {
	m := &metricsServer{code: http.StatusOK}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		m.mu.Lock()
		body, code := m.body, m.code
		m.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(m.Close)
	return m
}

func (m *metricsServer) set(code int, body string) {
	m.mu.Lock()
	m.body, m.code = body, code
	m.mu.Unlock()
}

// sampleAt calls s.Sample at second sec with the server answering body,
// then waits for the sample to land, so results do not depend on timing.
func sampleAt(t *testing.T, s Sampler, sec float64, w Window) {
	t.Helper()
	s.Sample(context.Background(), at(sec), w)
	switch c := s.(type) {
	case *BreakerCheck:
		lazy(&c.scrapes).bg.wait()
	case *PrometheusCheck:
		lazy(&c.scrapes).bg.wait()
	case *HTTPCheck:
		lazy(&c.st).bg.wait()
	case *CommandCheck:
		lazy(&c.st).bg.wait()
	default:
		t.Fatalf("unknown sampler %T", s)
	}
}

// fields lists the fields of problems, nil when there are none.
func fields(ps []units.Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Field)
	}
	return out
}
