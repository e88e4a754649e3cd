package run

import (
	"context"
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/load"
)

// SteadyState is the gate a game-day passes between two experiments: it
// sends exp's own load for its steady_state.for and judges the steady-state
// SLO, the way a run's baseline would, without starting or injecting
// anything. It needs a running stack (stack.vars or compose); for an
// experiment that starts its own local stack there is nothing to gate, and
// it returns held. measured says what was seen; err is a stack or load that
// cannot be reached or used.
func SteadyState(ctx context.Context, exp *experiments.Experiment, o Options) (held bool, measured string, err error) {
	if exp.Stack.Local != nil || exp.SteadyState == nil {
		return true, "no gate (the experiment starts its own stack or has no steady state)", nil
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano() & 0x7fffffffffff
	}
	runID := newRunID("gate-", o.Seed)
	w, err := prepare(ctx, exp, runID, o)
	if err != nil {
		return false, "", err
	}
	defer func() { _ = w.close() }()
	cfg, err := loadConfig(exp, w, o.Seed)
	if err != nil {
		return false, "", err
	}
	d := baselineFor(exp)
	cfg.MaxDuration = d
	gen, err := load.New(cfg)
	if err != nil {
		return false, "", invalid("load: %v", err)
	}
	start := time.Now()
	if err := gen.Run(ctx); err != nil && ctx.Err() == nil {
		return false, "", fmt.Errorf("steady-state load: %w", err)
	}
	if ctx.Err() != nil {
		return false, "", context.Cause(ctx)
	}
	ok, m, bound, reason := exp.SteadyState.SLO.Judge(gen.Timeline().Summary(start, start.Add(d), ""))
	if !ok {
		return false, fmt.Sprintf("%s (bound %s): %s", m, bound, reason), nil
	}
	return true, fmt.Sprintf("%s (bound %s)", m, bound), nil
}

// timePtr is &t, or nil for a zero t (a fault that never went on).
func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
