package run

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/load"
)

// TestCapacityIsTheKnee: the highest one-second rate whose second kept the
// steady state's bounds; a faster second that broke them does not count.
func TestCapacityIsTheKnee(t *testing.T) {
	e := &engine{exp: parse(t, `version: chaos/v1
name: ramp
load: {url: "http://127.0.0.1:1/", rate: 10/s}
steady_state: {for: 1s, slo: {p99: 100ms, error_rate: 1%}}
`), start: time.Unix(100, 0)}
	sec := func(i int, rate float64, p99 time.Duration, errRate float64) load.Second {
		return load.Second{At: e.start.Add(time.Duration(i) * time.Second), Summary: load.Summary{
			Completed: int64(rate), Rate: rate, ErrorRate: errRate, Latency: load.Quantiles{P99: p99, Count: int64(rate)}}}
	}
	c := e.capacity([]load.Second{
		sec(0, 100, 20*time.Millisecond, 0),
		sec(1, 200, 30*time.Millisecond, 0),
		sec(2, 300, 150*time.Millisecond, 0),  // too slow
		sec(3, 400, 40*time.Millisecond, 0.2), // too many errors
	})
	require.NotNil(t, c)
	assert.Equal(t, 200.0, c.Rate)
	assert.InDelta(t, 1.0, float64(c.At), 1e-9)
	assert.Contains(t, c.Within, "p99 ≤ 100ms")
}

// TestLoadOnlyRun: an experiment without faults runs its load, judges the
// steady state as its check and reports the capacity it held.
func TestLoadOnlyRun(t *testing.T) {
	var failing atomic.Bool
	srv := server(t, &failing)
	exp := parse(t, `version: chaos/v1
name: load-only
load: {url: "`+srv.URL+`/", method: GET, stages: [{rate: 20/s, for: 1s}, {rate: 20/s, ramp_to: 60/s, for: 1s}]}
steady_state: {for: 2s, slo: {p99: 500ms, error_rate: 1%}}
`)
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: t.TempDir()})
	require.NoError(t, err)
	assert.Equal(t, ExitHeld, rep.ExitCode)
	require.Len(t, rep.Checks, 1)
	assert.Equal(t, "steady state", rep.Checks[0].Name)
	assert.True(t, rep.Checks[0].Held)
	require.NotNil(t, rep.Load.Capacity)
	assert.Greater(t, rep.Load.Capacity.Rate, 20.0, "the ramp's faster seconds held")
}
