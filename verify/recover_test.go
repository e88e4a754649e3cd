package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecoverCheck(t *testing.T) {
	const rollback = 30.0
	slow := func(from, secs float64) fakeLoad { return traffic(from, secs, 20, 2100*ms, 200, false, "") }
	ok := func(from, secs float64) fakeLoad { return traffic(from, secs, 20, 100*ms, 200, false, "") }
	tests := []struct {
		name       string
		check      RecoverCheck
		load       Load
		rollback   float64 // default 30; -1: none
		now        float64
		held       bool
		ttr        time.Duration
		measured   string
		wantReason string
	}{
		{
			name:     "recovers after 4s",
			load:     join(slow(0, 34), ok(34, 60)),
			now:      90,
			held:     true,
			ttr:      4 * time.Second,
			measured: "recovered after 4s: p99 100ms, error rate 0%, 60 requests",
		},
		{
			// HAProxy's own log put these recoveries at +0.26s and +1.06s.
			name:     "recovers after 0.26s, reported at 0.1s resolution",
			load:     join(traffic(0, 30.26, 100, 2100*ms, 200, false, ""), traffic(30.26, 60, 100, 100*ms, 200, false, "")),
			now:      90,
			held:     true,
			ttr:      300 * ms,
			measured: "recovered after 0.3s: p99 100ms, error rate 0%, 300 requests",
		},
		{
			name: "recovers after 1.06s",
			load: join(traffic(0, 31.06, 100, 2100*ms, 200, false, ""), traffic(31.06, 60, 100, 100*ms, 200, false, "")),
			now:  90, held: true, ttr: 1100 * ms,
		},
		{
			name:     "recovered at once",
			load:     join(slow(0, 30), ok(30, 60)),
			now:      90,
			held:     true,
			ttr:      0,
			measured: "recovered after 0s: p99 100ms, error rate 0%, 60 requests",
		},
		{
			name:       "never recovers",
			load:       slow(0, 90),
			now:        90,
			measured:   "last 3s: p99 2.1s, error rate 0%, 60 requests",
			wantReason: "not recovered within 30s: last 3s p99 2.1s > 500ms (60 requests)",
		},
		{
			name:       "recovers too late",
			load:       join(slow(0, 61), ok(61, 30)),
			now:        90,
			wantReason: "not recovered within 30s: last 3s p99 2.1s > 500ms (60 requests)",
		},
		{
			name: "errors stop after 2s",
			load: join(traffic(0, 32, 20, 50*ms, 503, false, ""), ok(32, 60)),
			now:  90, held: true, ttr: 2 * time.Second,
		},
		{
			name:       "run ended early",
			load:       slow(0, 40),
			now:        40,
			wantReason: "not recovered within 30s (observed only 6s): last 3s p99 2.1s > 500ms (60 requests)",
		},
		{
			name:       "too little time after rollback",
			load:       slow(0, 40),
			now:        32,
			wantReason: "not recovered: only 2s observed after rollback, 3s stable needed (and 1s to settle)",
		},
		{
			name:       "load stopped at rollback",
			load:       ok(0, 30),
			now:        90,
			wantReason: "not recovered within 30s: last 3s fewer requests than min_requests 10 (0 requests)",
		},
		{
			name:       "no rollback",
			load:       ok(0, 90),
			rollback:   -1,
			now:        90,
			wantReason: "no rollback took place",
		},
		{
			name:  "class high recovers while low does not",
			check: RecoverCheck{Class: "high"},
			load: join(traffic(0, 90, 10, 100*ms, 200, false, "high"),
				traffic(0, 90, 10, 3*time.Second, 200, false, "low")),
			now: 90, held: true, ttr: 0,
		},
		{
			name:  "class low",
			check: RecoverCheck{Class: "low"},
			load: join(traffic(0, 90, 10, 100*ms, 200, false, "high"),
				traffic(0, 90, 10, 3*time.Second, 200, false, "low")),
			now:        90,
			wantReason: "not recovered within 30s: last 3s p99 3s > 500ms for class low (30 requests)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Kinds["recover"].New().(*RecoverCheck)
			c.Class = tt.check.Class
			c.SLO = SLO{P99: dur("500ms"), ErrorRate: pct(1)}
			require.Empty(t, c.Validate())
			ev := Evidence{Timeline: tt.load, Now: at(tt.now), Rollback: at(rollback)}
			if tt.rollback < 0 {
				ev.Rollback = time.Time{}
			}
			r := c.Evaluate(context.Background(), ev)
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			assert.Equal(t, "recovered within 30s, stable 3s: p99 ≤ 500ms, error rate ≤ 1%", r.Bound)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			if tt.held {
				require.NotNil(t, r.TimeToRecover)
				assert.Equal(t, tt.ttr, *r.TimeToRecover)
				assert.Empty(t, r.Reason)
			} else {
				assert.Nil(t, r.TimeToRecover)
				assert.Contains(t, r.Reason, tt.wantReason)
			}
		})
	}
}

func TestRecoverDone(t *testing.T) {
	newCheck := func() *RecoverCheck {
		c := Kinds["recover"].New().(*RecoverCheck)
		c.SLO = SLO{P99: dur("500ms")}
		return c
	}
	assert.Equal(t, 34*time.Second, newCheck().Limit(), "within 30s + stable 3s + settle 1s")

	recovering := join(traffic(0, 34, 20, 2100*ms, 200, false, ""), traffic(34, 60, 20, 100*ms, 200, false, ""))
	c := newCheck()
	ev := Evidence{Timeline: recovering, Rollback: at(30)}
	for _, tc := range []struct {
		now  float64
		done bool
	}{{30, false}, {35, false}, {37.9, false}, {38, true}} {
		ev.Now = at(tc.now)
		assert.Equal(t, tc.done, c.Done(ev), "recovering, now %vs", tc.now)
	}

	c = newCheck()
	ev = Evidence{Timeline: traffic(0, 90, 20, 2100*ms, 200, false, ""), Rollback: at(30)}
	for _, tc := range []struct {
		now  float64
		done bool
	}{{40, false}, {63.9, false}, {64, true}} {
		ev.Now = at(tc.now)
		assert.Equal(t, tc.done, c.Done(ev), "never recovering, now %vs", tc.now)
	}

	ev.Rollback = time.Time{}
	assert.False(t, newCheck().Done(ev), "not done before rollback")
}

func TestRecoverValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  RecoverCheck
		fields []string
	}{
		{"slo", RecoverCheck{SLO: SLO{P99: dur("1s")}}, nil},
		{"no slo", RecoverCheck{}, []string{"slo"}},
		{"bad slo", RecoverCheck{SLO: SLO{P99: dur("1s"), MinCount: -1}}, []string{"slo.min_requests"}},
		{"stable of half a second", RecoverCheck{SLO: SLO{P99: dur("1s")}, Stable: *dur("500ms")}, nil},
		{"stable below the 100ms resolution", RecoverCheck{SLO: SLO{P99: dur("1s")}, Stable: *dur("50ms")}, []string{"stable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}
