package netns

import (
	"github.com/chaos-sre/chaos/faults/network"
)

// nfqueueWhy says why the userspace path serves a fault.
func nfqueueWhy(scoped bool) string {
	ok, why := network.NetemAvailable()
	if !ok {
		return why
	}
	if scoped {
		return "the fault is scoped to peers, a port or ingress, which a root netem qdisc cannot be"
	}
	return "netem was not chosen"
}

const nfqueueMech = "NFQUEUE userspace shaper in the chaos process (nftables rule in the target's network namespace, fail-open)"
