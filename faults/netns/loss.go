package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetLoss drops a share of the packets in the target's network namespace:
// netem where the kernel has it and the fault is not scoped; a kernel-side
// nftables random drop when there is no correlation; else the NFQUEUE
// shaper (correlated loss needs memory of the last draw).
type NetLoss struct {
	Loss        units.Percent `yaml:"loss" json:"loss" jsonschema:"description=share of packets dropped e.g. 10%"`
	Correlation units.Percent `yaml:"correlation,omitempty" json:"correlation,omitempty" jsonschema:"description=how much each draw follows the last (bursts of loss)"`
	NetScope    `yaml:",inline"`

	netFault
}

var _ faults.Fault = (*NetLoss)(nil)

// Validate implements Fault.
func (l *NetLoss) Validate() []units.Problem {
	var ps []units.Problem
	if l.Loss <= 0 {
		ps = append(ps, units.Problemf("loss", "%s drops nothing (valid: more than 0%% up to 100%%)", l.Loss))
	}
	return append(ps, l.NetScope.validate()...)
}

func (l *NetLoss) mechanism() (string, string) {
	if ok, _ := network.NetemAvailable(); ok && !l.scoped() {
		return "netem", "netem qdisc on the target's interfaces (kernel has netem)"
	}
	if l.Correlation == 0 {
		return "nft", "nftables random drop in the kernel (meta random), in the target's network namespace; " + nfqueueWhy(l.scoped())
	}
	return "queue", nfqueueMech + "; correlated loss; " + nfqueueWhy(l.scoped())
}

// Preflight implements Preflighter.
func (l *NetLoss) Preflight(ctx context.Context, ts []targets.Target) error {
	_, m := l.mechanism()
	l.setMechanism(m)
	return l.preflight(ctx, "net-loss", l.NetScope, ts)
}

// Inject implements Fault.
func (l *NetLoss) Inject(ctx context.Context, env faults.Env) error {
	how, m := l.mechanism()
	l.setMechanism(m)
	return l.inject(ctx, env, "net-loss", l.NetScope, func(t netTarget) error {
		switch how {
		case "netem":
			return netemOnLinks(&l.netFault, env, t, &network.Netem{Loss: l.Loss.Fraction(), LossCorr: l.Correlation.Fraction()})
		case "nft":
			return l.addRules(env, t, t.scope.Rules(network.Verdict{Kind: "random-drop", Prob: l.Loss.Fraction()}), nil)
		}
		_, err := l.queueRules(env, t, network.Shape{Loss: l.Loss.Fraction(), LossCorr: l.Correlation.Fraction()})
		return err
	})
}

// Rollback implements Fault.
func (l *NetLoss) Rollback(ctx context.Context) error { return l.rollbackNet(ctx) }
