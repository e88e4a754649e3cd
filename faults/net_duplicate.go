package faults

import (
	"context"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/target"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetDuplicate sends a share of the packets in the target's network
// namespace twice (netem where the kernel has it and the fault is not
// scoped, else the NFQUEUE shaper, which sends the copy through a marked raw
// socket in the namespace so the rule lets it pass).
type NetDuplicate struct {
	Duplicate units.Percent `yaml:"duplicate" json:"duplicate" jsonschema:"description=share of packets sent twice e.g. 5%"`
	NetScope  `yaml:",inline"`

	netFault
}

var _ Fault = (*NetDuplicate)(nil)

// Validate implements Fault.
func (c *NetDuplicate) Validate() []units.Problem {
	var ps []units.Problem
	if c.Duplicate <= 0 {
		ps = append(ps, units.Problemf("duplicate", "%s duplicates nothing (valid: more than 0%% up to 100%%)", c.Duplicate))
	}
	return append(ps, c.NetScope.validate()...)
}

func (c *NetDuplicate) netem() bool {
	ok, _ := network.NetemAvailable()
	if ok && !c.scoped() {
		c.setMechanism("netem qdisc on the target's interfaces (kernel has netem)")
		return true
	}
	c.setMechanism(nfqueueMech + "; " + nfqueueWhy(c.scoped()))
	return false
}

// Preflight implements Preflighter.
func (c *NetDuplicate) Preflight(ctx context.Context, ts []target.Target) error {
	c.netem()
	return c.preflight(ctx, "net-duplicate", c.NetScope, ts)
}

// Inject implements Fault.
func (c *NetDuplicate) Inject(ctx context.Context, env Env) error {
	netem := c.netem()
	return c.inject(ctx, env, "net-duplicate", c.NetScope, func(t netTarget) error {
		if netem {
			return netemOnLinks(&c.netFault, env, t, &network.Netem{Duplicate: c.Duplicate.Fraction()})
		}
		_, err := c.queueRules(env, t, network.Shape{Duplicate: c.Duplicate.Fraction()})
		return err
	})
}

// Rollback implements Fault.
func (c *NetDuplicate) Rollback(ctx context.Context) error { return c.rollbackNet(ctx) }
