package faults

import (
	"context"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/target"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetCorrupt flips one random bit past the IP header in a share of the
// packets in the target's network namespace (netem where the kernel has it
// and the fault is not scoped, else the NFQUEUE shaper). TCP drops what its
// checksum catches and sends again; UDP payloads may arrive corrupted.
type NetCorrupt struct {
	Corrupt  units.Percent `yaml:"corrupt" json:"corrupt" jsonschema:"description=share of packets corrupted e.g. 5%"`
	NetScope `yaml:",inline"`

	netFault
}

var _ Fault = (*NetCorrupt)(nil)

// Validate implements Fault.
func (c *NetCorrupt) Validate() []units.Problem {
	var ps []units.Problem
	if c.Corrupt <= 0 {
		ps = append(ps, units.Problemf("corrupt", "%s corrupts nothing (valid: more than 0%% up to 100%%)", c.Corrupt))
	}
	return append(ps, c.NetScope.validate()...)
}

func (c *NetCorrupt) netem() bool {
	ok, _ := network.NetemAvailable()
	if ok && !c.scoped() {
		c.setMechanism("netem qdisc on the target's interfaces (kernel has netem)")
		return true
	}
	c.setMechanism(nfqueueMech + "; " + nfqueueWhy(c.scoped()))
	return false
}

// Preflight implements Preflighter.
func (c *NetCorrupt) Preflight(ctx context.Context, ts []target.Target) error {
	c.netem()
	return c.preflight(ctx, "net-corrupt", c.NetScope, ts)
}

// Inject implements Fault.
func (c *NetCorrupt) Inject(ctx context.Context, env Env) error {
	netem := c.netem()
	return c.inject(ctx, env, "net-corrupt", c.NetScope, func(t netTarget) error {
		if netem {
			return netemOnLinks(&c.netFault, env, t, &network.Netem{Corrupt: c.Corrupt.Fraction()})
		}
		_, err := c.queueRules(env, t, network.Shape{Corrupt: c.Corrupt.Fraction()})
		return err
	})
}

// Rollback implements Fault.
func (c *NetCorrupt) Rollback(ctx context.Context) error { return c.rollbackNet(ctx) }
