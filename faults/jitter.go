package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Jitter adds a random delay, uniform from delay to delay+jitter, to each
// request (http route) or chunk (tcp route) on the way to or from the target.
type Jitter struct {
	Jitter    units.Duration `yaml:"jitter" json:"jitter" jsonschema:"description=the random part: uniform from 0 to jitter,default=100ms"`
	Delay     units.Duration `yaml:"delay,omitempty" json:"delay,omitempty" jsonschema:"description=a fixed part added to every draw,default=0s"`
	Share     `yaml:",inline"`
	Match     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*Jitter)(nil)

// Validate implements Fault.
func (f *Jitter) Validate() []units.Problem {
	var ps []units.Problem
	if f.Jitter <= 0 {
		ps = append(ps, units.Problemf("jitter", "must be more than 0 (valid: e.g. 50ms, 500us)"))
	}
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *Jitter) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "jitter", f)
}

// Rollback implements Fault.
func (f *Jitter) Rollback(ctx context.Context) error { return f.rollback(ctx) }
