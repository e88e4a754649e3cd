package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetDuplicate sends a share of the packets in the target's network
// namespace twice (netem where the kernel has it and the fault is not
// scoped, else the NFQUEUE shaper, which sends the copy through a marked raw
// socket in the namespace so the rule lets it pass).
type NetDuplicate struct {
	Duplicate units.Percent `yaml:"duplicate" json:"duplicate" jsonschema:"description=share of packets sent twice e.g. 5%"`
	NetScope  `yaml:",inline"`

	netShare
}

var _ faults.Fault = (*NetDuplicate)(nil)

// NewNetDuplicate is a net-duplicate fault with its defaults.
func NewNetDuplicate() *NetDuplicate {
	return &NetDuplicate{netShare: netShare{kind: "net-duplicate", field: "duplicate", verb: "duplicates",
		netem: func(f float64) *network.Netem { return &network.Netem{Duplicate: f} },
		shape: func(f float64) network.Shape { return network.Shape{Duplicate: f} }}}
}

// Validate implements Fault.
func (d *NetDuplicate) Validate() []units.Problem { return d.validateShare(d.Duplicate, d.NetScope) }

// Preflight implements Preflighter.
func (d *NetDuplicate) Preflight(ctx context.Context, ts []targets.Target) error {
	return d.preflightShare(ctx, d.NetScope, ts)
}

// Inject implements Fault.
func (d *NetDuplicate) Inject(ctx context.Context, env faults.Env) error {
	return d.injectShare(ctx, env, d.Duplicate, d.NetScope)
}

// Rollback implements Fault.
func (d *NetDuplicate) Rollback(ctx context.Context) error { return d.rollbackNet(ctx) }
