package verify

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// The window [5s, 15s) is sampled every second; an increase is measured
// from the last scrape before it (4s), so a 1/s counter grows 10.
//
// gatewayText is a /metrics page at second s: ok requests grow 10/s and
// restart from 0 at second 10 when reset is set, errors grow 1/s, the queue
// depth rises to 8 at second 9 and falls back, a histogram counts 2/s.
func gatewayText(s float64, reset bool) string {
	ok := 10 * s
	if reset && s >= 10 {
		ok = 10 * (s - 10)
	}
	queue := max(0, 8-2*abs(s-9))
	return fmt.Sprintf(`# TYPE gateway_requests_total counter
gateway_requests_total{upstream="primary",outcome="ok"} %g
gateway_requests_total{upstream="primary",outcome="error"} %g
gateway_requests_total{upstream="fallback",outcome="ok"} 1000
# TYPE gateway_queue_depth gauge
gateway_queue_depth %g
# TYPE gateway_latency_seconds histogram
gateway_latency_seconds_bucket{le="0.5"} %g
gateway_latency_seconds_bucket{le="+Inf"} %g
gateway_latency_seconds_sum %g
gateway_latency_seconds_count %g
`, ok, s, queue, 2*s, 2*s, s, 2*s)
}

func abs(f float64) float64 { return max(f, -f) }

func TestPrometheusCheck(t *testing.T) {
	w := win("slow-primary", 5, 15)
	primary := map[string]string{"upstream": "primary"}
	okOnly := map[string]string{"upstream": "primary", "outcome": "ok"}
	tests := []struct {
		name       string
		check      PrometheusCheck
		reset      bool
		down       bool
		held       bool
		measured   string
		wantReason string
	}{
		{
			name:     "increase summed over series",
			check:    PrometheusCheck{Metric: "gateway_requests_total", Labels: primary, Mode: ModeIncrease, Min: num(100), Max: num(110)},
			held:     true,
			measured: `increase of gateway_requests_total{upstream="primary"} 110 (10 scrapes)`,
		},
		{
			name:       "increase across a counter reset",
			check:      PrometheusCheck{Metric: "gateway_requests_total", Labels: okOnly, Mode: ModeIncrease, Max: num(50)},
			reset:      true,
			wantReason: `increase of gateway_requests_total{outcome="ok",upstream="primary"} 90 > 50 over slow-primary (10 scrapes)`,
		},
		{
			name:       "errors grew",
			check:      PrometheusCheck{Metric: "gateway_requests_total", Labels: map[string]string{"outcome": "error"}, Mode: ModeIncrease, Max: num(0)},
			wantReason: `increase of gateway_requests_total{outcome="error"} 10 > 0 over slow-primary (10 scrapes)`,
		},
		{
			name:     "value is the last scrape in the window",
			check:    PrometheusCheck{Metric: "gateway_requests_total", Labels: okOnly, Min: num(140), Max: num(140)},
			held:     true,
			measured: `value of gateway_requests_total{outcome="ok",upstream="primary"} 140 (10 scrapes)`,
		},
		{
			name:       "max of a gauge",
			check:      PrometheusCheck{Metric: "gateway_queue_depth", Mode: ModeMax, Max: num(5)},
			wantReason: "max of gateway_queue_depth 8 > 5 over slow-primary (10 scrapes)",
		},
		{
			name:       "min of a gauge",
			check:      PrometheusCheck{Metric: "gateway_queue_depth", Mode: ModeMin, Min: num(1)},
			wantReason: "min of gateway_queue_depth 0 < 1 over slow-primary (10 scrapes)",
		},
		{
			name:     "histogram count",
			check:    PrometheusCheck{Metric: "gateway_latency_seconds_count", Mode: ModeIncrease, Min: num(20)},
			held:     true,
			measured: "increase of gateway_latency_seconds_count 20 (10 scrapes)",
		},
		{
			name:       "no such series",
			check:      PrometheusCheck{Metric: "gateway_requests_total", Labels: map[string]string{"upstream": "tertiary"}, Min: num(1)},
			wantReason: `no series gateway_requests_total{upstream="tertiary"} found in 10 scrapes over slow-primary`,
		},
		{
			name:       "endpoint down",
			check:      PrometheusCheck{Metric: "gateway_queue_depth", Max: num(5)},
			down:       true,
			wantReason: "no successful scrape over slow-primary: scrape http://",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newMetricsServer(t)
			c := &tt.check
			if c.Mode == "" {
				c.Mode = Kinds["prometheus"].New().(*PrometheusCheck).Mode
			}
			c.URL = srv.URL + "/metrics"
			assert.Empty(t, c.Validate())
			for s := 0.0; s <= 20; s++ {
				code := http.StatusOK
				if tt.down {
					code = http.StatusInternalServerError
				}
				srv.set(code, gatewayText(s, tt.reset))
				sampleAt(t, c, s, w)
			}
			r := c.Evaluate(context.Background(), Evidence{Window: w})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
		})
	}
}

func TestPrometheusValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  PrometheusCheck
		fields []string
	}{
		{"ok", PrometheusCheck{URL: "${gateway}/metrics", Metric: "x", Max: num(1)}, nil},
		{"nothing", PrometheusCheck{}, []string{"url", "metric", ""}},
		{"bad mode", PrometheusCheck{URL: "http://x/metrics", Metric: "x", Mode: "rate", Min: num(0)}, []string{"mode"}},
		{"min above max", PrometheusCheck{URL: "http://x/metrics", Metric: "x", Min: num(2), Max: num(1)}, []string{"min"}},
		{"per request against the baseline", PrometheusCheck{URL: "http://x/metrics", Metric: "x", Mode: ModePerRequest, MaxOverBaseline: num(1.5)}, nil},
		{"baseline factor needs per_request", PrometheusCheck{URL: "http://x/metrics", Metric: "x", Mode: ModeIncrease, MaxOverBaseline: num(1.5)}, []string{"max_over_baseline"}},
		{"baseline factor not positive", PrometheusCheck{URL: "http://x/metrics", Metric: "x", Mode: ModePerRequest, MaxOverBaseline: num(0)}, []string{"max_over_baseline"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}

func TestIncreaseCountsASeriesBornInTheWindow(t *testing.T) {
	// A labelled counter exists from its first increment: status="503" is
	// absent at the window's first scrape and appears at 12, then grows.
	born := []scrape{
		{Series: map[string]float64{`status="200"`: 100}},
		{Series: map[string]float64{`status="200"`: 110, `status="503"`: 12}},
		{Series: map[string]float64{`status="200"`: 115, `status="503"`: 20}},
	}
	assert.Equal(t, 15.0+20.0, increase(born))
	// Present from the first scrape: only its growth counts.
	present := []scrape{
		{Series: map[string]float64{`status="503"`: 12}},
		{Series: map[string]float64{`status="503"`: 20}},
	}
	assert.Equal(t, 8.0, increase(present))
}

// attemptsText is a gateway's /metrics page at second s of a run whose load
// sends 10 requests a second from second 0: before second 5 every request
// costs one upstream attempt; in [5, 15) each costs perReq; after 15, one
// again.
func attemptsText(s, perReq float64) string {
	at := 10 * min(s, 5)
	at += 10 * perReq * max(0, min(s, 15)-5)
	at += 10 * max(0, s-15)
	return fmt.Sprintf("# TYPE gateway_upstream_attempts_total counter\ngateway_upstream_attempts_total{upstream=\"primary\"} %g\ngateway_upstream_attempts_total{upstream=\"fallback\"} 7\n", at)
}

func TestPrometheusPerRequest(t *testing.T) {
	w := win("brownout +0s", 5, 15)
	faults := map[string]Window{"brownout": win("brownout", 5, 15)}
	clients := traffic(0, 20, 10, 100*time.Millisecond, 200, false, "")
	primary := map[string]string{"upstream": "primary"}
	tests := []struct {
		name       string
		check      PrometheusCheck
		perReq     float64
		load       Load
		held       bool
		measured   string
		bound      string
		wantReason string
	}{
		{
			name:     "budgeted retries hold",
			check:    PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: primary, Mode: ModePerRequest, Max: num(1.5), MaxOverBaseline: num(1.5)},
			perReq:   1.3,
			held:     true,
			measured: `per_request of gateway_upstream_attempts_total{upstream="primary"} 1.30 (130 over 100 client requests, 41 scrapes); baseline 1.00 (50 over 50 client requests, 21 scrapes)`,
			bound:    `per_request of gateway_upstream_attempts_total{upstream="primary"} ≤ 1.5 and ≤ 1.5 × baseline`,
		},
		{
			name:       "a retry storm passes the bound",
			check:      PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: primary, Mode: ModePerRequest, Max: num(1.5), MaxOverBaseline: num(1.5)},
			perReq:     1.75,
			wantReason: `per_request of gateway_upstream_attempts_total{upstream="primary"} 1.75 > 1.5 over brownout +0s (175 over 100 client requests)`,
		},
		{
			name:       "a rise over the baseline",
			check:      PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: primary, Mode: ModePerRequest, Max: num(1.5), MaxOverBaseline: num(1.2)},
			perReq:     1.3,
			wantReason: `per_request of gateway_upstream_attempts_total{upstream="primary"} 1.30 > 1.2 × baseline 1.00 = 1.20 over brownout +0s (130 over 100 client requests)`,
		},
		{
			name:       "too few attempts",
			check:      PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: primary, Mode: ModePerRequest, Min: num(1.1)},
			perReq:     1,
			wantReason: `per_request of gateway_upstream_attempts_total{upstream="primary"} 1.00 < 1.1 over brownout +0s (100 over 100 client requests)`,
		},
		{
			name:       "no load to count requests with",
			check:      PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: primary, Mode: ModePerRequest, Max: num(1.5)},
			perReq:     1,
			load:       fakeLoad{},
			wantReason: "no client requests completed",
		},
		{
			name:       "no such series",
			check:      PrometheusCheck{Metric: "gateway_upstream_attempts_total", Labels: map[string]string{"upstream": "tertiary"}, Mode: ModePerRequest, Max: num(1.5)},
			perReq:     1,
			wantReason: `series gateway_upstream_attempts_total{upstream="tertiary"} found in 0 of 81 scrapes`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newMetricsServer(t)
			c := &tt.check
			c.URL = srv.URL + "/metrics"
			assert.Empty(t, c.Validate())
			for s := 0.0; s <= 20; s += 0.25 { // the engine samples every 250 ms
				srv.set(http.StatusOK, attemptsText(s, tt.perReq))
				sampleAt(t, c, s, w)
			}
			load := tt.load
			if load == nil {
				load = clients
			}
			r := c.Evaluate(context.Background(), Evidence{Window: w, Faults: faults, Timeline: load})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
			if tt.bound != "" {
				assert.Equal(t, tt.bound, r.Bound)
			}
			if tt.bound != "" {
				assert.Equal(t, tt.bound, r.Bound)
			}
		})
	}
}
