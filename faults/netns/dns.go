package netns

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// DNS makes name resolution in the target's network namespace fail or slow:
// its queries (UDP and TCP to port 53, including Docker's embedded server at
// 127.0.0.11, matched before Docker's NAT) are rejected (fail: resolution
// errors at once), dropped (timeout: the resolver waits and gives up) or
// delayed by the NFQUEUE shaper (slow).
type DNS struct {
	Mode  string         `yaml:"mode,omitempty" json:"mode,omitempty" jsonschema:"enum=fail,enum=timeout,enum=slow,description=fail: queries rejected; timeout: queries dropped; slow: queries delayed,default=fail"`
	Delay units.Duration `yaml:"delay,omitempty" json:"delay,omitempty" jsonschema:"description=for mode slow: added to every query,default=2s"`
	Peers []string       `yaml:"servers,omitempty" json:"servers,omitempty" jsonschema:"description=only queries to these DNS servers (addresses); default every server"`
	Allow bool           `yaml:"allow_host,omitempty" json:"allow_host,omitempty" jsonschema:"description=allow a target in the host's network namespace"`

	netFault
}

var _ faults.Fault = (*DNS)(nil)

// Validate implements Fault.
func (d *DNS) Validate() []units.Problem {
	switch d.Mode {
	case "", "fail", "timeout":
	case "slow":
		if d.Delay <= 0 {
			return []units.Problem{units.Problemf("delay", "mode slow needs a delay of more than 0 (e.g. 2s)")}
		}
	default:
		return []units.Problem{units.Problemf("mode", "unknown mode %q (valid: fail, timeout, slow)", d.Mode)}
	}
	return nil
}

func (d *DNS) scope() NetScope {
	return NetScope{Direction: "egress", Peers: d.Peers, Port: 53, AllowHost: d.Allow}
}

func (d *DNS) mechanism() string {
	switch d.Mode {
	case "slow":
		return nfqueueMech + " on port 53; " + nfqueueWhy(true)
	case "timeout":
		return "nftables drop rules on port 53 in the target's network namespace"
	}
	return "nftables reject rules on port 53 in the target's network namespace"
}

// Preflight implements Preflighter.
func (d *DNS) Preflight(ctx context.Context, ts []targets.Target) error {
	d.setMechanism(d.mechanism())
	return d.preflight(ctx, "dns", d.scope(), ts)
}

// Inject implements Fault.
func (d *DNS) Inject(ctx context.Context, env faults.Env) error {
	d.setMechanism(d.mechanism())
	return d.inject(ctx, env, "dns", d.scope(), func(t netTarget) error {
		t.scope.DstPortOnly = true // queries, not answers of a server in the target
		switch d.Mode {
		case "slow":
			_, err := d.queueRules(env, t, network.Shape{Delay: d.Delay.D()})
			return err
		case "timeout":
			return d.addRules(env, t, t.scope.Rules(network.Verdict{Kind: "drop"}), nil)
		}
		return d.addRules(env, t, t.scope.Rules(network.Verdict{Kind: "reject"}), nil)
	})
}

// Rollback implements Fault.
func (d *DNS) Rollback(ctx context.Context) error { return d.rollbackNet(ctx) }
