package verify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDegradedCheck(t *testing.T) {
	w := win("slow-primary +10s", 10, 30)
	// 60% of answers degraded for class low, none for high.
	mixed := join(
		traffic(10, 20, 3, 50*ms, 200, true, "low"),
		traffic(10, 20, 2, 50*ms, 200, false, "low"),
		traffic(10, 20, 5, 50*ms, 200, false, "high"),
	)
	tests := []struct {
		name       string
		check      DegradedCheck
		load       Load
		held       bool
		measured   string
		bound      string
		wantReason string
	}{
		{
			name:     "fallback answers",
			check:    DegradedCheck{MinShare: pct(50)},
			load:     mixed,
			held:     false,
			measured: "degraded 30% (60 of 200 requests)",
			bound:    "degraded ≥ 50%",
			// all classes: 60 of 200
			wantReason: "degraded 30% < 50% over slow-primary +10s (200 requests)",
		},
		{
			name:     "fallback answers for low",
			check:    DegradedCheck{Class: "low", MinShare: pct(50), MaxShare: pct(90)},
			load:     mixed,
			held:     true,
			measured: "degraded 60% (60 of 100 requests)",
			bound:    "degraded ≥ 50%, degraded ≤ 90%",
		},
		{
			name:       "high priority degraded too much",
			check:      DegradedCheck{Class: "high", MaxShare: pct(5)},
			load:       traffic(10, 20, 5, 50*ms, 200, true, "high"),
			measured:   "degraded 100% (100 of 100 requests)",
			wantReason: "degraded 100% > 5% for class high over slow-primary +10s (100 requests)",
		},
		{
			name:       "errors are not degraded answers",
			check:      DegradedCheck{MinShare: pct(50)},
			load:       traffic(10, 20, 5, 50*ms, 503, true, ""),
			wantReason: "degraded 0% < 50% over slow-primary +10s (100 requests)",
		},
		{
			name:       "too few requests",
			check:      DegradedCheck{MaxShare: pct(50)},
			load:       traffic(10, 5, 1, 50*ms, 200, false, ""),
			wantReason: "fewer requests than min_requests 10 over slow-primary +10s (5 requests)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check.Evaluate(context.Background(), Evidence{Window: w, Timeline: tt.load})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			if tt.bound != "" {
				assert.Equal(t, tt.bound, r.Bound)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
		})
	}
}

func TestDegradedValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  DegradedCheck
		fields []string
	}{
		{"min", DegradedCheck{MinShare: pct(50)}, nil},
		{"max", DegradedCheck{MaxShare: pct(5)}, nil},
		{"no bound", DegradedCheck{Class: "low"}, []string{""}},
		{"min above max", DegradedCheck{MinShare: pct(60), MaxShare: pct(40)}, []string{"min_share"}},
		{"negative min_requests", DegradedCheck{MinShare: pct(1), MinCount: -3}, []string{"min_requests"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}
