package netns

import (
	"context"
	"fmt"
	"syscall"

	"github.com/chaos-sre/chaos/faults"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// ConnLimit caps the connections a service accepts: an nftables rule in the
// target's network namespace (what iptables connlimit does) resets each new
// TCP connection to the port while more than max connections it let in are
// still open. Connections open before the fault are not counted, and the
// target's own loopback (its health checks) is left alone.
type ConnLimit struct {
	Max       int      `yaml:"max" json:"max" jsonschema:"description=connections accepted at once; more are reset,default=10,minimum=1"`
	Port      int      `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"description=the service port (e.g. the model server's 8000); default every TCP port,minimum=1,maximum=65535"`
	Peers     []string `yaml:"peers,omitempty" json:"peers,omitempty" jsonschema:"description=only connections from these peers: compose services or host names or IPv4 addresses or CIDRs; default every peer"`
	AllowHost bool     `yaml:"allow_host,omitempty" json:"allow_host,omitempty" jsonschema:"description=allow a target in the host's network namespace"`

	netFault
}

var _ faults.Fault = (*ConnLimit)(nil)

// Validate implements Fault.
func (c *ConnLimit) Validate() []units.Problem {
	var ps []units.Problem
	if c.Max < 1 {
		ps = append(ps, units.Problemf("max", "%d is too few (valid: 1 or more)", c.Max))
	}
	return append(ps, c.scope().validate()...)
}

func (c *ConnLimit) scope() NetScope {
	return NetScope{Direction: "ingress", Peers: c.Peers, Port: c.Port, Protocol: "tcp", AllowHost: c.AllowHost}
}

const connLimitMech = "nftables ct count (connlimit) rule in the target's network namespace"

// Preflight implements Preflighter.
func (c *ConnLimit) Preflight(ctx context.Context, ts []targets.Target) error {
	c.setMechanism(connLimitMech)
	return c.preflight(ctx, "conn-limit", c.scope(), ts)
}

// Inject implements Fault.
func (c *ConnLimit) Inject(ctx context.Context, env faults.Env) error {
	c.setMechanism(connLimitMech)
	return c.inject(ctx, env, "conn-limit", c.scope(), func(t netTarget) error {
		sc := t.scope
		sc.DstPortOnly, sc.SkipLoopback = true, true
		rules := sc.Rules(network.Verdict{Kind: "reject"})
		for i := range rules {
			rules[i].NewOver = uint32(c.Max)
		}
		if len(rules) == 0 || rules[0].Proto != syscall.IPPROTO_TCP {
			return fmt.Errorf("conn-limit: no TCP rule to add")
		}
		return c.addRules(env, t, rules, nil)
	})
}

// Rollback implements Fault.
func (c *ConnLimit) Rollback(ctx context.Context) error { return c.rollbackNet(ctx) }
