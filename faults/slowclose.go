package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// SlowClose holds the close of connections through the tcp proxy route in
// front of the target for a while after the sender has closed.
type SlowClose struct {
	Delay     units.Duration `yaml:"delay" json:"delay" jsonschema:"description=how long the close is held,default=1s"`
	Share     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*SlowClose)(nil)

// Validate implements Fault.
func (f *SlowClose) Validate() []units.Problem {
	var ps []units.Problem
	if f.Delay <= 0 {
		ps = append(ps, units.Problemf("delay", "must be more than 0 (valid: e.g. 1s)"))
	}
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *SlowClose) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "slow-close", f)
}

// Rollback implements Fault.
func (f *SlowClose) Rollback(ctx context.Context) error { return f.rollback(ctx) }
