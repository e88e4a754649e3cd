package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Blackhole (kinds timeout and blackhole) drops every byte in one direction
// through the tcp proxy route in front of the target; the connection stays
// open until timeout (0: until rollback, which closes it: bytes were lost).
type Blackhole struct {
	Timeout   units.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=close each connection this long after it opens; 0 holds it until rollback,default=0s"`
	Share     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*Blackhole)(nil)

// Validate implements Fault.
func (f *Blackhole) Validate() []units.Problem {
	var ps []units.Problem
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *Blackhole) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "timeout", f)
}

// Rollback implements Fault.
func (f *Blackhole) Rollback(ctx context.Context) error { return f.rollback(ctx) }
