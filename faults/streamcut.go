package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// StreamCut closes the connection of the target's SSE answers after a
// number of events: the answer ends mid-way, with no [DONE].
type StreamCut struct {
	After int `yaml:"after" json:"after" jsonschema:"description=events passed before the cut,default=3,minimum=0"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
	changes
}

var _ Fault = (*StreamCut)(nil)

// Validate implements Fault.
func (f *StreamCut) Validate() []units.Problem {
	var ps []units.Problem
	if f.After < 0 {
		ps = append(ps, units.Problemf("after", "%d is negative (valid: 0 or more events)", f.After))
	}
	ps = append(ps, f.Share.validate()...)
	return ps
}

// Inject implements Fault.
func (f *StreamCut) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "stream-cut", f)
}

// Rollback implements Fault.
func (f *StreamCut) Rollback(ctx context.Context) error { return f.rollback(ctx) }
