package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/verify/load"
)

const ms = time.Millisecond

func TestSLOCheck(t *testing.T) {
	w := win("slow-primary +5s", 0, 10)
	mixed := join(
		traffic(0, 10, 18, 100*ms, 200, false, "high"),
		traffic(0, 10, 2, 100*ms, 503, false, "high"),
		traffic(0, 10, 40, 2100*ms, 200, true, "low"),
	)
	tests := []struct {
		name       string
		check      SLOCheck
		load       Load
		window     Window
		held       bool
		measured   string
		bound      string
		wantReason string
	}{
		{
			name:     "holds",
			check:    SLOCheck{SLO: SLO{P99: dur("500ms"), ErrorRate: pct(1)}},
			load:     traffic(0, 10, 50, 100*ms, 200, false, ""),
			held:     true,
			measured: "p99 100ms, error rate 0%, 500 requests",
			bound:    "p99 ≤ 500ms, error rate ≤ 1%",
		},
		{
			name:  "p99 too slow",
			check: SLOCheck{SLO: SLO{P99: dur("500ms"), ErrorRate: pct(1)}},
			load: join(traffic(0, 10, 63, 100*ms, 200, false, ""),
				traffic(0, 10, 1, 812*ms, 200, false, "")),
			measured:   "p99 812ms, error rate 0%, 640 requests",
			wantReason: "p99 812ms > 500ms over slow-primary +5s (640 requests)",
		},
		{
			name:  "error rate and p50 both broken",
			check: SLOCheck{SLO: SLO{P50: dur("1s"), ErrorRate: pct(1)}},
			load: join(traffic(0, 10, 10, 1500*ms, 200, false, ""),
				traffic(0, 10, 10, 1500*ms, 500, false, "")),
			wantReason: "p50 1.5s > 1s, error rate 50% > 1% over slow-primary +5s (200 requests)",
		},
		{
			name:       "too few requests is a failure",
			check:      SLOCheck{SLO: SLO{P99: dur("500ms")}},
			load:       traffic(0, 4, 1, 100*ms, 200, false, ""),
			wantReason: "fewer requests than min_requests 10 over slow-primary +5s (4 requests)",
		},
		{
			name:       "min_requests raised",
			check:      SLOCheck{SLO: SLO{P99: dur("500ms"), MinCount: 1000}},
			load:       traffic(0, 10, 50, 100*ms, 200, false, ""),
			wantReason: "fewer requests than min_requests 1000 over slow-primary +5s (500 requests)",
		},
		{
			name:     "class high spared",
			check:    SLOCheck{Class: "high", SLO: SLO{P99: dur("500ms"), ErrorRate: pct(15)}},
			load:     mixed,
			held:     true,
			measured: "p99 100ms, error rate 10%, 200 requests",
		},
		{
			name:       "class high error rate",
			check:      SLOCheck{Class: "high", SLO: SLO{ErrorRate: pct(1)}},
			load:       mixed,
			wantReason: "error rate 10% > 1% for class high over slow-primary +5s (200 requests)",
		},
		{
			name:       "class low degraded and slow",
			check:      SLOCheck{Class: "low", SLO: SLO{P95: dur("1s"), Degraded: pct(50)}},
			load:       mixed,
			wantReason: "p95 2.1s > 1s, degraded 100% > 50% for class low over slow-primary +5s (400 requests)",
		},
		{
			name:       "ttft",
			check:      SLOCheck{SLO: SLO{TTFT: dur("300ms")}},
			load:       traffic(0, 10, 5, 450*ms, 200, false, ""),
			wantReason: "ttft p99 450ms > 300ms over slow-primary +5s (50 requests)",
		},
		{
			name:       "only requests inside the window count",
			check:      SLOCheck{SLO: SLO{P99: dur("500ms")}},
			load:       join(traffic(0, 10, 5, 100*ms, 200, false, ""), traffic(10, 10, 5, 5*time.Second, 200, false, "")),
			held:       true,
			measured:   "p99 100ms, 50 requests",
			wantReason: "",
		},
		{
			name:       "no load",
			check:      SLOCheck{SLO: SLO{P99: dur("500ms")}},
			wantReason: "no load ran over slow-primary +5s (0 requests)",
		},
		{
			name:       "unknown window",
			check:      SLOCheck{SLO: SLO{P99: dur("500ms")}},
			load:       traffic(0, 10, 5, 100*ms, 200, false, ""),
			window:     Window{Name: "never-started"},
			wantReason: "window never-started is not known or empty",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := Evidence{Window: w, Timeline: tt.load}
			if tt.load == nil {
				ev.Timeline = nil
			}
			if tt.window.Name != "" {
				ev.Window = tt.window
			}
			r := tt.check.Evaluate(context.Background(), ev)
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			if tt.bound != "" {
				assert.Equal(t, tt.bound, r.Bound)
			}
			if tt.held {
				assert.Empty(t, r.Reason)
			} else {
				assert.Contains(t, r.Reason, tt.wantReason)
			}
		})
	}
}

func TestSLOCheckValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  SLOCheck
		fields []string
	}{
		{"one bound is enough", SLOCheck{SLO: SLO{ErrorRate: pct(1)}}, nil},
		{"no bound", SLOCheck{Class: "high"}, []string{""}},
		{"negative min_requests", SLOCheck{SLO: SLO{P99: dur("1s"), MinCount: -1}}, []string{"min_requests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}

func TestSLOJudge(t *testing.T) {
	slo := SLO{TTFT: dur("1s"), ErrorRate: pct(1)}
	ok, measured, bound, reason := slo.Judge(load.Summary{Completed: 50, Errors: 50, ErrorRate: 1})
	assert.False(t, ok)
	assert.Equal(t, "ttft p99 n/a, error rate 100%, 50 requests", measured)
	assert.Equal(t, "ttft p99 ≤ 1s, error rate ≤ 1%", bound)
	assert.Equal(t, "ttft p99: none of 50 requests measured it, error rate 100% > 1%", reason)

	ok, _, _, reason = slo.Judge(load.Summary{Completed: 50, TTFTContent: load.Quantiles{P99: time.Second, Count: 50}})
	assert.True(t, ok, "bounds are inclusive: %s", reason)
}
