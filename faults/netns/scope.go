// Package netns is the network family: faults made inside a target's
// network namespace (netem or tbf qdiscs, nftables rules, the NFQUEUE
// shaper of faults/network), one kind per file.
package netns

import (
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/internal/units"
)

// NetScope says which packets of the target's network namespace a network
// fault touches; every net-* kind, partition and dns embed it.
type NetScope struct {
	Direction string   `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=egress,enum=ingress,enum=both,description=packets leaving the target (egress) or arriving (ingress),default=egress"`
	Peers     []string `yaml:"peers,omitempty" json:"peers,omitempty" jsonschema:"description=only traffic to/from these peers: compose services (resolved in the target's namespace to every replica's address) or host names or IPv4 addresses or CIDRs; default every peer"`
	Port      int      `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"description=only packets from or to this port (e.g. the model server's 8000),minimum=1,maximum=65535"`
	Protocol  string   `yaml:"protocol,omitempty" json:"protocol,omitempty" jsonschema:"enum=tcp,enum=udp,description=only this protocol; default every protocol (tcp and udp when port is set)"`
	AllowHost bool     `yaml:"allow_host,omitempty" json:"allow_host,omitempty" jsonschema:"description=allow a target that runs in the host's network namespace (a local process); off by default so a fault never hits the host by mistake"`
}

func (s NetScope) validate() []units.Problem {
	var ps []units.Problem
	switch s.Direction {
	case "", "egress", "ingress", "both":
	default:
		ps = append(ps, units.Problemf("direction", "unknown direction %q (valid: egress, ingress, both)", s.Direction))
	}
	if s.Port < 0 || s.Port > 65535 {
		ps = append(ps, units.Problemf("port", "%d is not a port (valid: 1 to 65535)", s.Port))
	}
	switch s.Protocol {
	case "", "tcp", "udp":
	default:
		ps = append(ps, units.Problemf("protocol", "unknown protocol %q (valid: tcp, udp)", s.Protocol))
	}
	for i, p := range s.Peers {
		if strings.TrimSpace(p) == "" {
			ps = append(ps, units.Problemf("peers["+strconv.Itoa(i)+"]", "empty peer (valid: a compose service, host name, IPv4 address or CIDR)"))
		}
	}
	return ps
}

// scoped reports whether the scope narrows the fault below "every packet
// leaving the target" (which a root qdisc can serve).
func (s NetScope) scoped() bool {
	return len(s.Peers) > 0 || s.Port != 0 || s.Protocol != "" || (s.Direction != "" && s.Direction != "egress")
}
