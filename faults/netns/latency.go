package netns

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetLatency delays packets in the target's network namespace: netem where
// the kernel has it and the fault is not scoped, else the NFQUEUE shaper in
// this process. Unlike `latency` (per request, in the fault proxy) it hits
// every packet, so TCP handshakes, streaming chunks and health checks all
// see it.
type NetLatency struct {
	Delay       units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added to every packet e.g. 2s,default=100ms"`
	Jitter      units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=± uniform around delay (packets may reorder)"`
	Correlation units.Percent  `yaml:"correlation,omitempty" json:"correlation,omitempty" jsonschema:"description=how much each jitter draw follows the last (netem's correlation)"`
	NetScope    `yaml:",inline"`

	netFault
}

var _ faults.Fault = (*NetLatency)(nil)

// Validate implements Fault.
func (l *NetLatency) Validate() []units.Problem {
	var ps []units.Problem
	if l.Delay <= 0 && l.Jitter <= 0 {
		ps = append(ps, units.Problemf("delay", "%s adds nothing (valid: more than 0, e.g. 100ms)", l.Delay))
	}
	if l.Jitter > l.Delay {
		ps = append(ps, units.Problemf("jitter", "%s is more than delay %s (valid: 0 up to delay)", l.Jitter, l.Delay))
	}
	return append(ps, l.NetScope.validate()...)
}

func (l *NetLatency) useNetem() bool {
	ok, _ := network.NetemAvailable()
	return ok && !l.scoped()
}

// Preflight implements Preflighter.
func (l *NetLatency) Preflight(ctx context.Context, ts []targets.Target) error {
	l.chooseMechanism()
	return l.preflight(ctx, "net-latency", l.NetScope, ts)
}

func (l *NetLatency) chooseMechanism() {
	if l.useNetem() {
		l.setMechanism("netem qdisc on the target's interfaces (kernel has netem)")
		return
	}
	l.setMechanism(nfqueueMech + "; " + nfqueueWhy(l.scoped()))
}

// Inject implements Fault.
func (l *NetLatency) Inject(ctx context.Context, env faults.Env) error {
	l.chooseMechanism()
	netem := l.useNetem()
	return l.inject(ctx, env, "net-latency", l.NetScope, func(t netTarget) error {
		if netem {
			links, err := network.Links(t.ns, "")
			if err != nil {
				return err
			}
			for _, link := range links {
				q := &network.Netem{Delay: l.Delay.D(), Jitter: l.Jitter.D(), Correlation: l.Correlation.Fraction()}
				if err := l.addQdisc(env, t, link, q); err != nil {
					return fmt.Errorf("target %s: %w", t.t.Name, err)
				}
			}
			return nil
		}
		_, err := l.queueRules(env, t, network.Shape{Delay: l.Delay.D(), Jitter: l.Jitter.D(), Correlation: l.Correlation.Fraction()})
		return err
	})
}

// Rollback implements Fault.
func (l *NetLatency) Rollback(ctx context.Context) error { return l.rollbackNet(ctx) }
