package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Reset resets connections through the tcp proxy route in front of the
// target (RST: "connection reset by peer"), at once or after a timeout.
type Reset struct {
	Timeout   units.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=how long after it opens a connection is reset; 0 resets it at once,default=0s"`
	Share     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*Reset)(nil)

// Validate implements Fault.
func (f *Reset) Validate() []units.Problem {
	var ps []units.Problem
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *Reset) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "reset", f)
}

// Rollback implements Fault.
func (f *Reset) Rollback(ctx context.Context) error { return f.rollback(ctx) }
