package remote

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/netns"
)

// TestRoutes: the agent applies the network-namespace family and the
// cgroup freezer (pause on a pod is freeze), and nothing else.
func TestRoutes(t *testing.T) {
	var routed []string
	for name, k := range kinds.All {
		if Routes(name, k) {
			routed = append(routed, name)
		}
	}
	slices.Sort(routed)
	assert.Equal(t, []string{"conn-limit", "dns", "freeze", "net-bandwidth", "net-corrupt", "net-duplicate", "net-latency", "net-loss", "partition", "pause"}, routed)
}

func TestMechanism(t *testing.T) {
	assert.Equal(t, "the chaos agent on the pod's node, through the API server's pod proxy", Mechanism(nil))
	assert.Equal(t, "the chaos agent on nodes a, b, c, d, e, … 2 more, through the API server's pod proxy", Mechanism([]string{"a", "b", "c", "d", "e", "f", "g"}))
}

// TestNamesPeers: only peers named by an object or host may resolve to
// other addresses later, so only those are followed.
func TestNamesPeers(t *testing.T) {
	assert.False(t, namesPeers(latency()), "no peers")
	assert.False(t, namesPeers(latency("10.1.2.3", " 10.9.0.0/16")), "addresses and CIDRs stay what they are")
	assert.True(t, namesPeers(latency("10.1.2.3", "deployment/model")))
	assert.True(t, namesPeers(latency("model")), "a bare name is a Service")
	assert.True(t, namesPeers(&netns.DNS{Mode: "timeout", Peers: []string{"service/coredns"}}))
}
