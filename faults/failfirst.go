package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// FailFirst fails the first count requests to the target (per proxy
// route) with an error status, then lets every later one pass: enough to
// prove a client or gateway retries.
type FailFirst struct {
	Count      int            `yaml:"count" json:"count" jsonschema:"description=requests that fail,default=3,minimum=1"`
	Status     int            `yaml:"status,omitempty" json:"status,omitempty" jsonschema:"default=503,minimum=400,maximum=599"`
	RetryAfter units.Duration `yaml:"retry_after,omitempty" json:"retry_after,omitempty" jsonschema:"description=sent as Retry-After seconds; 0 sends none"`
	Match      `yaml:",inline"`
	changes
}

var _ Fault = (*FailFirst)(nil)

// Validate implements Fault.
func (f *FailFirst) Validate() []units.Problem {
	var ps []units.Problem
	if f.Count < 1 {
		ps = append(ps, units.Problemf("count", "%d is too few (valid: 1 or more)", f.Count))
	}
	if f.Status < 400 || f.Status > 599 {
		ps = append(ps, units.Problemf("status", "%d is not an error status (valid: 400 to 599)", f.Status))
	}
	return ps
}

// Inject implements Fault.
func (f *FailFirst) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "fail-first", f)
}

// Rollback implements Fault.
func (f *FailFirst) Rollback(ctx context.Context) error { return f.rollback(ctx) }
