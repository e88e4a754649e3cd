package verify

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// breakerText is a gateway /metrics page with the primary breaker in state.
func breakerText(state float64) string {
	return fmt.Sprintf(`# HELP gateway_breaker_state 0 closed, 1 open, 2 half-open.
# TYPE gateway_breaker_state gauge
gateway_breaker_state{upstream="primary"} %g
gateway_breaker_state{upstream="fallback"} 0
# TYPE gateway_requests_total counter
gateway_requests_total{upstream="primary",outcome="ok"} 12
`, state)
}

func TestBreakerMetric(t *testing.T) {
	w := win("slow-primary", 5, 35)
	const rollback = 35.0
	tests := []struct {
		name   string
		closes bool
		// states of the primary breaker from second 0, one every 250ms
		states     func(sec float64) float64
		code       int
		held       bool
		measured   string
		wantReason string
	}{
		{
			name:     "opens after 2.25s",
			states:   func(s float64) float64 { return b2f(s >= 7.25 && s < rollback+2) },
			held:     true,
			measured: "opened after 2.25s",
		},
		{
			name:       "never opens",
			states:     func(float64) float64 { return 0 },
			measured:   "not open: values 0..0 in 41 scrapes",
			wantReason: `breaker never opened within 10s of slow-primary: gateway_breaker_state{upstream="primary"} stayed in 0..0 over 41 scrapes`,
		},
		{
			name:       "opens too late",
			states:     func(s float64) float64 { return b2f(s >= 15.25) },
			wantReason: "breaker never opened within 10s of slow-primary",
		},
		{
			name:       "half-open is not open",
			states:     func(s float64) float64 { return 2 * b2f(s >= 6) },
			wantReason: "stayed in 0..2 over 41 scrapes",
		},
		{
			name:     "closes after rollback",
			closes:   true,
			states:   func(s float64) float64 { return b2f(s >= 6 && s < rollback+3) },
			held:     true,
			measured: "opened after 1s, closed after rollback",
		},
		{
			name:       "stays open after rollback",
			closes:     true,
			states:     func(s float64) float64 { return b2f(s >= 6) },
			measured:   "opened after 1s, still open",
			wantReason: "opened after 1s but still open 5s after rollback (last scrape)",
		},
		{
			name:       "endpoint down",
			code:       http.StatusServiceUnavailable,
			states:     func(float64) float64 { return 1 },
			wantReason: "no successful scrape within 10s of slow-primary: scrape http://",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newMetricsServer(t)
			c := Kinds["breaker"].New().(*BreakerCheck)
			c.Closes = tt.closes
			c.Metric = &BreakerMetric{URL: srv.URL + "/metrics", Name: "gateway_breaker_state", Labels: map[string]string{"upstream": "primary"}}
			assert.Empty(t, c.Validate())
			ev := Evidence{Window: w, Rollback: at(rollback)}
			for s := 0.0; s <= rollback+5; s += 0.25 {
				code := http.StatusOK
				if tt.code != 0 {
					code = tt.code
				}
				srv.set(code, breakerText(tt.states(s)))
				sampleAt(t, c, s, w)
				if ev.Now = at(s); tt.closes && s == rollback {
					assert.False(t, c.Done(ev), "not done before a scrape after rollback")
				}
			}
			if tt.closes {
				assert.Equal(t, tt.held, c.Done(ev), "Done at the end")
			}
			r := c.Evaluate(context.Background(), ev)
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
			assert.Contains(t, r.Bound, `gateway_breaker_state{upstream="primary"} = 1 within 10s`)
		})
	}
}

func TestBreakerFast(t *testing.T) {
	w := win("slow-primary", 0, 30)
	fast := Kinds["breaker"].New().(*BreakerCheck)
	fast.Fast = dur("200ms")
	tests := []struct {
		name       string
		load       Load
		held       bool
		measured   string
		wantReason string
	}{
		{
			name:     "fails fast after within",
			load:     join(traffic(0, 10, 20, 2*time.Second, 200, false, ""), traffic(10, 20, 20, 30*ms, 503, false, "")),
			held:     true,
			measured: "p95 30ms (400 requests)",
		},
		{
			name:       "still waits for timeouts",
			load:       join(traffic(0, 10, 20, 2*time.Second, 200, false, ""), traffic(10, 20, 20, 2*time.Second, 200, false, "")),
			measured:   "p95 2s (400 requests)",
			wantReason: "requests still wait: p95 2s > 200ms over slow-primary +10s (400 requests)",
		},
		{
			name:       "too few requests",
			load:       traffic(10, 4, 1, 30*ms, 200, false, ""),
			wantReason: "fewer requests than 10 over slow-primary +10s (4 requests)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fast.Evaluate(context.Background(), Evidence{Window: w, Timeline: tt.load})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
			assert.Equal(t, "p95 ≤ 200ms from 10s after the window starts", r.Bound)
		})
	}
	t.Run("window shorter than within", func(t *testing.T) {
		r := fast.Evaluate(context.Background(), Evidence{Window: win("blip", 0, 5), Timeline: fakeLoad{}})
		assert.False(t, r.Held)
		assert.Equal(t, "window blip (5s) is no longer than within 10s: nothing left to judge", r.Reason)
	})
}

func TestBreakerValidate(t *testing.T) {
	m := &BreakerMetric{URL: "${gateway}/metrics", Name: "gateway_breaker_state"}
	tests := []struct {
		name   string
		check  BreakerCheck
		fields []string
	}{
		{"metric", BreakerCheck{Metric: m, Closes: true}, nil},
		{"fast", BreakerCheck{Fast: dur("200ms")}, nil},
		{"neither", BreakerCheck{}, []string{""}},
		{"both", BreakerCheck{Metric: m, Fast: dur("200ms")}, []string{""}},
		{"metric without url and name", BreakerCheck{Metric: &BreakerMetric{}}, []string{"metric.url", "metric.name"}},
		{"bad url", BreakerCheck{Metric: &BreakerMetric{URL: "localhost:8080/metrics", Name: "x"}}, []string{"metric.url"}},
		{"fast zero", BreakerCheck{Fast: dur("0s")}, []string{"fast"}},
		{"closes needs metric", BreakerCheck{Fast: dur("1s"), Closes: true}, []string{"closes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
