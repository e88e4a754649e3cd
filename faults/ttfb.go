package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// TTFB holds the first byte of the target's answers (the proxy forwards the
// request at once; the client waits): a model slow to its first token.
type TTFB struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=how long the first byte is held,default=2s"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay"`
	Share  `yaml:",inline"`
	Match  `yaml:",inline"`
	changes
}

var _ Fault = (*TTFB)(nil)

// Validate implements Fault.
func (f *TTFB) Validate() []units.Problem {
	ps := validateDelay(f.Delay, f.Jitter, "2s")
	ps = append(ps, f.Share.validate()...)
	return ps
}

// Inject implements Fault.
func (f *TTFB) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "ttfb", f)
}

// Rollback implements Fault.
func (f *TTFB) Rollback(ctx context.Context) error { return f.rollback(ctx) }
