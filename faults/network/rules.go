package network

import "net/netip"

// IP protocol numbers for Rule.Proto and Scope.Proto (the same on every OS).
const (
	ProtoTCP = 6
	ProtoUDP = 17
)

// TablePrefix starts the name of every table chaos adds: chaos-RUN-ENTRY.
const TablePrefix = "chaos-"

// DupMark marks the copies the duplicator sends, so the queue rules let
// them pass instead of queueing them again.
const DupMark = 0xc4a05

// Verdict is what a rule does with the packets it matches.
type Verdict struct {
	Kind  string  // "queue", "drop", "reject", "random-drop"
	Queue uint16  // for queue
	Prob  float64 // for random-drop: 0..1
}

// Rule is one packet rule of a fault's table (IPv4).
type Rule struct {
	Egress       bool         // output hook; false: input hook
	Net          netip.Prefix // the peer's side; invalid: any peer
	Proto        byte         // ProtoTCP / ProtoUDP; 0: any
	SPort, DPort uint16       // 0: any
	SkipLoopback bool         // leave the lo interface alone
	// NewOver > 0: match only a new connection that finds more than NewOver
	// connections counted by this rule (its own, opened since it was added
	// and still open: nft's ct count, iptables' connlimit).
	NewOver uint32
	Verdict Verdict
}

// Scope is which packets a fault touches, as the user said it.
type Scope struct {
	Egress, Ingress bool
	Nets            []netip.Prefix // peers; none: every peer
	Port            uint16         // a port on either end; 0: any
	DstPortOnly     bool           // Port only as the destination (queries, not answers)
	Proto           byte           // 0: any (tcp and udp when Port is set)
	SkipLoopback    bool
}

// Rules expands s into rules that all end in v.
func (s Scope) Rules(v Verdict) []Rule {
	var out []Rule
	dirs := []bool{}
	if s.Egress {
		dirs = append(dirs, true)
	}
	if s.Ingress {
		dirs = append(dirs, false)
	}
	nets := s.Nets
	if len(nets) == 0 {
		nets = []netip.Prefix{{}}
	}
	protos := []byte{s.Proto}
	if s.Port != 0 && s.Proto == 0 {
		protos = []byte{ProtoTCP, ProtoUDP}
	}
	for _, eg := range dirs {
		for _, n := range nets {
			for _, p := range protos {
				r := Rule{Egress: eg, Net: n, Proto: p, SkipLoopback: s.SkipLoopback, Verdict: v}
				if s.Port == 0 {
					out = append(out, r)
					continue
				}
				a, b := r, r
				a.SPort, b.DPort = s.Port, s.Port
				if s.DstPortOnly {
					out = append(out, b)
					continue
				}
				out = append(out, a, b)
			}
		}
	}
	return out
}
