package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetCorrupt flips one random bit past the IP header in a share of the
// packets in the target's network namespace (netem where the kernel has it
// and the fault is not scoped, else the NFQUEUE shaper). TCP drops what its
// checksum catches and sends again; UDP payloads may arrive corrupted.
type NetCorrupt struct {
	Corrupt  units.Percent `yaml:"corrupt" json:"corrupt" jsonschema:"description=share of packets corrupted e.g. 5%"`
	NetScope `yaml:",inline"`

	netShare
}

var _ faults.Fault = (*NetCorrupt)(nil)

// NewNetCorrupt is a net-corrupt fault with its defaults.
func NewNetCorrupt() *NetCorrupt {
	return &NetCorrupt{netShare: netShare{kind: "net-corrupt", field: "corrupt", verb: "corrupts",
		netem: func(f float64) *network.Netem { return &network.Netem{Corrupt: f} },
		shape: func(f float64) network.Shape { return network.Shape{Corrupt: f} }}}
}

// Validate implements Fault.
func (c *NetCorrupt) Validate() []units.Problem { return c.validateShare(c.Corrupt, c.NetScope) }

// Preflight implements Preflighter.
func (c *NetCorrupt) Preflight(ctx context.Context, ts []targets.Target) error {
	return c.preflightShare(ctx, c.NetScope, ts)
}

// Inject implements Fault.
func (c *NetCorrupt) Inject(ctx context.Context, env faults.Env) error {
	return c.injectShare(ctx, env, c.Corrupt, c.NetScope)
}

// Rollback implements Fault.
func (c *NetCorrupt) Rollback(ctx context.Context) error { return c.rollbackNet(ctx) }
