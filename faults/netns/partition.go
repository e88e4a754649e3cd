package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Partition cuts the target off from named peers, or from everything but
// its own loopback, in one or both directions: nftables rules in its
// network namespace that drop (callers time out) or reject (callers fail at
// once) the packets.
type Partition struct {
	Mode     string `yaml:"mode,omitempty" json:"mode,omitempty" jsonschema:"enum=drop,enum=reject,description=drop: packets vanish (timeouts); reject: TCP reset / ICMP unreachable (fast failures),default=drop"`
	NetScope `yaml:",inline"`

	netFault
}

var _ faults.Fault = (*Partition)(nil)

// Validate implements Fault.
func (p *Partition) Validate() []units.Problem {
	var ps []units.Problem
	switch p.Mode {
	case "", "drop", "reject":
	default:
		ps = append(ps, units.Problemf("mode", "unknown mode %q (valid: drop, reject)", p.Mode))
	}
	return append(ps, p.NetScope.validate()...)
}

func (p *Partition) scope() NetScope {
	s := p.NetScope
	if s.Direction == "" {
		s.Direction = "both"
	}
	return s
}

// Preflight implements Preflighter.
func (p *Partition) Preflight(ctx context.Context, ts []targets.Target) error {
	p.setMechanism("nftables " + p.verdict() + " rules in the target's network namespace")
	return p.preflight(ctx, "partition", p.scope(), ts)
}

func (p *Partition) verdict() string {
	if p.Mode == "reject" {
		return "reject"
	}
	return "drop"
}

// Inject implements Fault.
func (p *Partition) Inject(ctx context.Context, env faults.Env) error {
	p.setMechanism("nftables " + p.verdict() + " rules in the target's network namespace")
	return p.inject(ctx, env, "partition", p.scope(), func(t netTarget) error {
		sc := t.scope
		sc.SkipLoopback = len(sc.Nets) == 0 // from everything: but not from itself
		return p.addRules(env, t, sc.Rules(network.Verdict{Kind: p.verdict()}), nil)
	})
}

// Rollback implements Fault.
func (p *Partition) Rollback(ctx context.Context) error { return p.rollbackNet(ctx) }
