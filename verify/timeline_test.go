package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/load"
)

// TestChecksOnRealTimeline runs the real load generator for 2s against a
// loopback gateway that answers high priority with a degraded fallback and
// sheds low priority with 503, then judges the *load.Timeline. The verdicts
// depend on the classes only, not on timing.
func TestChecksOnRealTimeline(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for 2s")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Priority") == "low" {
			http.Error(w, "server busy", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Degraded", "true")
		_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"hi"}}],"usage":{"completion_tokens":1}}`))
	}))
	defer srv.Close()
	g, err := load.New(load.Config{
		URL:    srv.URL + "/v1/chat/completions",
		Body:   []byte(`{"model":"primary"}`),
		Stages: []load.Stage{{Rate: 100}},
		Classes: []load.Class{
			{Name: "high", Share: 0.5, Headers: map[string]string{"X-Priority": "high"}},
			{Name: "low", Share: 0.5, Headers: map[string]string{"X-Priority": "low"}},
		},
		Degraded:    &load.Marker{Header: "X-Degraded", Equals: "true"},
		MaxDuration: 2 * time.Second,
		Seed:        1,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, g.Run(ctx))
	tl := g.Timeline()
	w := Window{Name: "run", From: tl.Start(), To: tl.Start().Add(2 * time.Second)}
	ev := Evidence{Timeline: tl, Window: w}

	high := &SLOCheck{Class: "high", SLO: SLO{P99: dur("1s"), ErrorRate: pct(1)}}
	r := high.Evaluate(ctx, ev)
	assert.True(t, r.Held, "high priority spared: %s", r.Reason)

	low := &SLOCheck{Class: "low", SLO: SLO{ErrorRate: pct(1)}}
	r = low.Evaluate(ctx, ev)
	assert.False(t, r.Held)
	assert.Regexp(t, `^error rate 100% > 1% for class low over run \(\d+ requests\)$`, r.Reason)

	deg := &DegradedCheck{Class: "high", MinShare: pct(90)}
	r = deg.Evaluate(ctx, ev)
	assert.True(t, r.Held, "fallback answers high: %s", r.Reason)
	assert.Regexp(t, `^degraded 100% \(\d+ of \d+ requests\)$`, r.Measured)

	deg = &DegradedCheck{MaxShare: pct(25)}
	r = deg.Evaluate(ctx, ev)
	assert.False(t, r.Held, "503s are not degraded answers but count in the share's base: %s", r.Measured)
}
