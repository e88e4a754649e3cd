package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Bandwidth caps the bytes per second through the tcp proxy route in front
// of the target, in one direction.
type Bandwidth struct {
	RateKB    int64 `yaml:"rate_kb" json:"rate_kb" jsonschema:"description=kilobytes (1024 bytes) per second,default=64,minimum=1"`
	Share     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*Bandwidth)(nil)

// Validate implements Fault.
func (f *Bandwidth) Validate() []units.Problem {
	var ps []units.Problem
	if f.RateKB < 1 {
		ps = append(ps, units.Problemf("rate_kb", "%d is too low (valid: 1 or more KB/s)", f.RateKB))
	}
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *Bandwidth) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "bandwidth", f)
}

// Rollback implements Fault.
func (f *Bandwidth) Rollback(ctx context.Context) error { return f.rollback(ctx) }
