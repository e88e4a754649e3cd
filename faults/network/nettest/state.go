package nettest

import (
	"os"
	"strings"

	"github.com/chaos-sre/chaos/faults/network"
)

// Left lists what chaos left in ns: its nftables tables, its root qdiscs,
// and NFQUEUE queues with a consumer bound.
func Left(ns *network.NS) (tables, qdiscs, queues []string, err error) {
	if tables, err = network.Tables(ns); err != nil {
		return
	}
	if qdiscs, err = network.OurQdiscs(ns); err != nil {
		return
	}
	err = ns.Do(func() error {
		b, err := os.ReadFile("/proc/thread-self/net/netfilter/nfnetlink_queue")
		if os.IsNotExist(err) {
			return nil
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" {
				queues = append(queues, l)
			}
		}
		return err
	})
	return
}
