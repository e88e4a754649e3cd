package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// netShare is the body shared by the kinds that act on a share of packets
// (corrupt, duplicate): they differ only in their name, their parameter and
// the netem / shaper field it sets.
type netShare struct {
	netFault
	kind  string // e.g. "net-corrupt"
	field string // the parameter, e.g. "corrupt"
	verb  string // e.g. "corrupts"
	netem func(share float64) *network.Netem
	shape func(share float64) network.Shape
}

func (n *netShare) validateShare(share units.Percent, scope NetScope) []units.Problem {
	var ps []units.Problem
	if share <= 0 {
		ps = append(ps, units.Problemf(n.field, "%s %s nothing (valid: more than 0%% up to 100%%)", share, n.verb))
	}
	return append(ps, scope.validate()...)
}

// useNetem picks the mechanism and records why.
func (n *netShare) useNetem(scope NetScope) bool {
	ok, _ := network.NetemAvailable()
	if ok && !scope.scoped() {
		n.setMechanism("netem qdisc on the target's interfaces (kernel has netem)")
		return true
	}
	n.setMechanism(nfqueueMech + "; " + nfqueueWhy(scope.scoped()))
	return false
}

func (n *netShare) preflightShare(ctx context.Context, scope NetScope, ts []targets.Target) error {
	n.useNetem(scope)
	return n.preflight(ctx, n.kind, scope, ts)
}

func (n *netShare) injectShare(ctx context.Context, env faults.Env, share units.Percent, scope NetScope) error {
	netem := n.useNetem(scope)
	return n.inject(ctx, env, n.kind, scope, func(t netTarget) error {
		if netem {
			return netemOnLinks(&n.netFault, env, t, n.netem(share.Fraction()))
		}
		_, err := n.queueRules(env, t, n.shape(share.Fraction()))
		return err
	})
}
