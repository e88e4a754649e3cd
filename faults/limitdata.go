package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// LimitData closes each connection through the tcp proxy route in front of
// the target once a number of bytes has passed in one direction.
type LimitData struct {
	Bytes     int64 `yaml:"bytes" json:"bytes" jsonschema:"description=bytes let through before the close,default=1024,minimum=0"`
	Share     `yaml:",inline"`
	Direction `yaml:",inline"`
	changes
}

var _ Fault = (*LimitData)(nil)

// Validate implements Fault.
func (f *LimitData) Validate() []units.Problem {
	var ps []units.Problem
	if f.Bytes < 0 {
		ps = append(ps, units.Problemf("bytes", "%d is negative (valid: 0 or more)", f.Bytes))
	}
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *LimitData) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "limit-data", f)
}

// Rollback implements Fault.
func (f *LimitData) Rollback(ctx context.Context) error { return f.rollback(ctx) }
