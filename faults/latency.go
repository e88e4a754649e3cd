package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Latency delays traffic to the target through the fault proxy in front of
// it: each request (http route) or each chunk of bytes (tcp route), so its
// clients see a later first byte. On a tcp route it can also hold the
// connection's opening.
type Latency struct {
	Delay     units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added before each request (http) or chunk (tcp) is forwarded; sub-millisecond works,default=1s"`
	Jitter    units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay,default=0s"`
	Open      bool           `yaml:"open,omitempty" json:"open,omitempty" jsonschema:"description=tcp routes: also hold each new connection's opening for the delay"`
	Share     `yaml:",inline"`
	Match     `yaml:",inline"`
	Direction `yaml:",inline"`

	changes
}

var _ Fault = (*Latency)(nil)

// Validate implements Fault.
func (l *Latency) Validate() []units.Problem {
	ps := validateDelay(l.Delay, l.Jitter, "500us, 200ms, 2s")
	return append(append(ps, l.Share.validate()...), l.Direction.validate()...)
}

// Inject implements Fault.
func (l *Latency) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &l.changes, "latency", l)
}

// Rollback implements Fault.
func (l *Latency) Rollback(ctx context.Context) error { return l.rollback(ctx) }
