package faults

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/internal/units"
)

// Latency delays requests on their way to the target through the fault proxy
// in front of it: the target's clients see a later first byte.
type Latency struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added before each request is forwarded,default=1s"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay,default=0s"`
	Share  units.Percent  `yaml:"share,omitempty" json:"share,omitempty" jsonschema:"description=share of requests delayed,default=100%"`

	changes
}

var _ Fault = (*Latency)(nil)

// Validate implements Fault.
func (l *Latency) Validate() []units.Problem {
	var ps []units.Problem
	if l.Delay <= 0 {
		ps = append(ps, units.Problemf("delay", "must be more than 0 (valid: e.g. 200ms, 2s)"))
	}
	if l.Jitter > l.Delay {
		ps = append(ps, units.Problemf("jitter", "%s is more than delay %s (valid: 0 to delay)", l.Jitter, l.Delay))
	}
	return ps
}

// Inject implements Fault.
func (l *Latency) Inject(ctx context.Context, env Env) error {
	return addProxyFault(env, &l.changes, "latency", func() proxy.Fault {
		return &proxy.Latency{Delay: l.Delay.D(), Jitter: l.Jitter.D(), Chance: proxy.NewChance(l.Share.Fraction(), env.Rand.Uint64())}
	})
}

// Rollback implements Fault.
func (l *Latency) Rollback(ctx context.Context) error { return l.rollback(ctx) }

// addProxyFault installs one proxy fault on the route in front of each target,
// journaling each before it is added.
func addProxyFault(env Env, c *changes, kind string, build func() proxy.Fault) error {
	for _, t := range env.Targets {
		if t.Proxy == nil {
			return fmt.Errorf("%s fault: target %s has no fault proxy in front of it (the local stack puts one before every model; for other stacks run `chaos proxy`)", kind, t.Name)
		}
		route := t.Proxy
		var id string
		undo := func(context.Context) error {
			if id == "" {
				return nil
			}
			return route.Remove(id)
		}
		if err := c.record(env, t.Name, "in-process", map[string]string{"proxy": route.Name(), "fault": kind}, undo); err != nil {
			return err
		}
		var err error
		if id, err = route.Add(build()); err != nil {
			return fmt.Errorf("%s fault on %s: %w", kind, t.Name, err)
		}
		fmt.Fprintf(env.Log, "  %s on proxy %s\n", kind, route.Name())
	}
	return nil
}
