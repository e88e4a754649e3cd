package netns

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// NetBandwidth caps the bytes per second leaving (or arriving at) the
// target's network namespace: a tbf qdisc on its interfaces when the fault
// covers all egress, else the NFQUEUE shaper pacing only the scoped packets
// (a tbf cannot tell peers apart without classes and filters).
type NetBandwidth struct {
	Rate      string         `yaml:"rate" json:"rate" jsonschema:"description=e.g. 1mbit or 512kbit or 100kbps (bytes) or 125000 (bytes/s)"`
	Burst     int            `yaml:"burst,omitempty" json:"burst,omitempty" jsonschema:"description=bytes sent at full speed before the cap bites; default rate/100 and at least one MTU"`
	Latency   units.Duration `yaml:"latency,omitempty" json:"latency,omitempty" jsonschema:"description=longest a packet waits for tokens before it is dropped,default=200ms"`
	Interface string         `yaml:"interface,omitempty" json:"interface,omitempty" jsonschema:"description=only this interface of the target (tbf); default every one but lo"`
	NetScope  `yaml:",inline"`

	netFault
}

var _ faults.Fault = (*NetBandwidth)(nil)

// parseRate reads tc-style rates: bit, kbit, mbit, gbit (bits) and bps,
// kbps, mbps, gbps (bytes); a bare number is bytes per second.
func parseRate(s string) (uint64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	units := []struct {
		suffix string
		bytes  float64
	}{{"gbit", 1e9 / 8}, {"mbit", 1e6 / 8}, {"kbit", 1e3 / 8}, {"bit", 1.0 / 8}, {"gbps", 1e9}, {"mbps", 1e6}, {"kbps", 1e3}, {"bps", 1}, {"", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || n <= 0 || n != n {
				break
			}
			if b := uint64(n * u.bytes); b >= 1 {
				return b, nil
			}
			break
		}
	}
	return 0, fmt.Errorf("%q is not a rate (valid: more than 0, e.g. 1mbit, 512kbit, 100kbps)", s)
}

// Validate implements Fault.
func (b *NetBandwidth) Validate() []units.Problem {
	var ps []units.Problem
	if _, err := parseRate(b.Rate); err != nil {
		ps = append(ps, units.Problemf("rate", "%v", err))
	}
	if b.Burst < 0 {
		ps = append(ps, units.Problemf("burst", "%d is negative (valid: 0 or more bytes)", b.Burst))
	}
	return append(ps, b.NetScope.validate()...)
}

func (b *NetBandwidth) tbf() bool {
	if !b.scoped() {
		b.setMechanism("tbf qdisc on the target's interfaces (token bucket in the kernel)")
		return true
	}
	b.setMechanism(nfqueueMech + ", pacing; the fault is scoped to peers, a port or ingress, which a root tbf cannot be")
	return false
}

// Preflight implements Preflighter.
func (b *NetBandwidth) Preflight(ctx context.Context, ts []targets.Target) error {
	b.tbf()
	return b.preflight(ctx, "net-bandwidth", b.NetScope, ts)
}

// Inject implements Fault.
func (b *NetBandwidth) Inject(ctx context.Context, env faults.Env) error {
	rate, err := parseRate(b.Rate)
	if err != nil {
		return err
	}
	tbf := b.tbf()
	return b.inject(ctx, env, "net-bandwidth", b.NetScope, func(t netTarget) error {
		if !tbf {
			_, err := b.queueRules(env, t, network.Shape{Rate: rate, RateQueue: b.Latency.D()})
			return err
		}
		links, err := network.Links(t.ns, b.Interface)
		if err != nil {
			return fmt.Errorf("target %s: %w", t.t.Name, err)
		}
		lat := b.Latency.D()
		if lat == 0 {
			lat = 200e6
		}
		for _, link := range links {
			if err := b.addQdisc(env, t, link, &network.Tbf{Rate: rate, Burst: uint32(b.Burst), Latency: lat}); err != nil {
				return fmt.Errorf("target %s: %w", t.t.Name, err)
			}
		}
		return nil
	})
}

// Rollback implements Fault.
func (b *NetBandwidth) Rollback(ctx context.Context) error { return b.rollbackNet(ctx) }
