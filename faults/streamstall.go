package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// StreamStall pauses the target's SSE answers after a number of events for
// a while, then lets them go on: a model that hangs mid-answer. after: 0
// holds the first byte as well.
type StreamStall struct {
	After int            `yaml:"after" json:"after" jsonschema:"description=events passed before the stall,default=2,minimum=0"`
	For   units.Duration `yaml:"for" json:"for" jsonschema:"description=how long the stream stalls,default=5s"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
	changes
}

var _ Fault = (*StreamStall)(nil)

// Validate implements Fault.
func (f *StreamStall) Validate() []units.Problem {
	var ps []units.Problem
	if f.After < 0 {
		ps = append(ps, units.Problemf("after", "%d is negative (valid: 0 or more events)", f.After))
	}
	if f.For <= 0 {
		ps = append(ps, units.Problemf("for", "must be more than 0 (valid: e.g. 5s)"))
	}
	ps = append(ps, f.Share.validate()...)
	return ps
}

// Inject implements Fault.
func (f *StreamStall) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "stream-stall", f)
}

// Rollback implements Fault.
func (f *StreamStall) Rollback(ctx context.Context) error { return f.rollback(ctx) }
