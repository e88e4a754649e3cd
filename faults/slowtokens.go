package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// SlowTokens delays every SSE event of the target's answers: a model that
// streams slowly (low tokens per second).
type SlowTokens struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added before each event,default=100ms"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay"`
	Share  `yaml:",inline"`
	Match  `yaml:",inline"`
	changes
}

var _ Fault = (*SlowTokens)(nil)

// Validate implements Fault.
func (f *SlowTokens) Validate() []units.Problem {
	ps := validateDelay(f.Delay, f.Jitter, "100ms")
	ps = append(ps, f.Share.validate()...)
	return ps
}

// Inject implements Fault.
func (f *SlowTokens) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "slow-tokens", f)
}

// Rollback implements Fault.
func (f *SlowTokens) Rollback(ctx context.Context) error { return f.rollback(ctx) }
