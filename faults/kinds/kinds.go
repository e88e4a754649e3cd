// Package kinds is the registry of fault kinds: the one list of kind names,
// above the families that define them. The experiment decoder, the JSON
// Schema, `chaos faults`, the engine and the report all read All.
package kinds

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/connection"
	"github.com/chaos-sre/chaos/faults/container"
	"github.com/chaos-sre/chaos/faults/flood"
	"github.com/chaos-sre/chaos/faults/freezer"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/process"
	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/internal/units"
)

// All is every fault kind by name: the proxy family's kinds (faults/proxy,
// one file each, listed once in its kinds.go: HTTP/SSE per request, L4 per
// connection on tcp routes), and the others, one entry each.
var All = merge(faults.ProxyKinds(proxy.KindList()), map[string]faults.Kind{
	"process": {
		Summary: "send a signal to a process: STOP (hung node), KILL/TERM/INT (crash); rollback sends CONT or restarts",
		Targets: []string{faults.TargetProcess},
		New:     func() faults.Fault { return &process.Process{Signal: "STOP", Restart: true} },
	},
	"flood": {
		Summary: "an open-loop burst of requests above capacity with a priority mix: the \"server busy\" storm",
		Targets: []string{faults.TargetURL},
		New:     func() faults.Fault { return flood.New() },
	},
	"exhaust": {
		Summary: "open and hold N idle or slowloris connections to the target's address until rollback",
		Targets: []string{faults.TargetAddr},
		New:     func() faults.Fault { return connection.NewExhaust() },
	},
	"conn-limit": {
		Summary: "reset new TCP connections to the target (scoped to a port, peers) while more than max it let in are open: nftables ct count (iptables connlimit) in its network namespace",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.ConnLimit{Max: 10} },
	},
	// network faults inside the target's network namespace (faults/netns); a
	// separate kind from latency, which works per request in the fault proxy
	"net-latency": {
		Summary: "delay packets in the target's network namespace (delay, jitter, correlation; scoped to peers/port): netem, or the NFQUEUE shaper without netem",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.NetLatency{Delay: units.Duration(100e6)} },
	},
	"net-loss": {
		Summary: "drop a share of packets in the target's network namespace: netem, nftables random drop, or the NFQUEUE shaper (correlated)",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.NetLoss{} },
	},
	"net-corrupt": {
		Summary: "flip a bit in a share of packets in the target's network namespace: netem, or the NFQUEUE shaper",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return netns.NewNetCorrupt() },
	},
	"net-duplicate": {
		Summary: "send a share of packets twice in the target's network namespace: netem, or the NFQUEUE shaper",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return netns.NewNetDuplicate() },
	},
	"net-bandwidth": {
		Summary: "cap bytes per second in the target's network namespace: tbf qdisc, or the NFQUEUE pacer when scoped",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.NetBandwidth{} },
	},
	"partition": {
		Summary: "cut the target off from named peers (compose services, addresses) or from everything, one or both directions: nftables drop/reject rules in its namespace",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.Partition{} },
	},
	"dns": {
		Summary: "make name resolution in the target's network namespace fail (reject), time out (drop) or slow (NFQUEUE delay)",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &netns.DNS{Mode: "fail", Delay: units.Duration(2e9)} },
	},
	// the cgroup freezer (faults/freezer): on Kubernetes through the node
	// agent, which routes the netns target type; pause on a pod is it too
	"freeze": {
		Summary: "freeze every process of a Kubernetes pod (through the node agent) or of a local process's cgroup at once: a hung replica (connections accepted, nothing answers); cgroup freezer; rollback thaws (Docker containers: pause)",
		Targets: []string{faults.TargetNetns},
		New:     func() faults.Fault { return &freezer.Freeze{} },
	},
	// container faults, through the Docker Engine API (faults/container)
	"pause": {
		Summary: "pause containers (a hung node: connections are accepted, nothing answers); rollback unpauses",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Pause{} },
	},
	"kill": {
		Summary: "send a signal (KILL) to containers (a crash); rollback starts them, or restart: false leaves them to the restart policy",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Kill{Signal: "KILL", Restart: true} },
	},
	"stop": {
		Summary: "stop containers (docker stop, with a grace time); rollback starts them",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Stop{Grace: units.Duration(10e9)} },
	},
	"restart": {
		Summary: "restart containers (docker restart); rollback makes sure they run",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Restart{Grace: units.Duration(10e9)} },
	},
	"disconnect": {
		Summary: "disconnect containers from a Docker network (a partition); rollback reconnects them with their aliases",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Disconnect{} },
	},
	"limits": {
		Summary: "squeeze containers' CPU and/or memory (docker update); rollback restores the old limits",
		Targets: []string{faults.TargetContainer},
		New:     func() faults.Fault { return &container.Limits{} },
	},
	// Kubernetes faults, through the API server with nothing installed in
	// the cluster (faults/kube); each change that has something to restore
	// is also marked on the object, for a recover from any machine
	"pod-delete": {
		Summary: "delete Kubernetes pods (with their grace period, or force); their controller recreates them, nothing to roll back; a pod no controller owns is refused unless allow_unmanaged",
		Targets: []string{faults.TargetKube},
		New:     func() faults.Fault { return &kube.PodDelete{} },
	},
	"scale": {
		Summary: "scale the Deployments/StatefulSets of the targets to replicas for the window; rollback restores the old count unless someone else changed it meanwhile",
		Targets: []string{faults.TargetKube},
		New:     func() faults.Fault { return &kube.Scale{} },
	},
	"cordon": {
		Summary: "mark Kubernetes nodes unschedulable (the target pods' nodes, or node targets); rollback uncordons those it cordoned",
		Targets: []string{faults.TargetKube},
		New:     func() faults.Fault { return &kube.Cordon{} },
	},
	"node-drain": {
		Summary: "a node failure: cordon the nodes and evict their pods (Eviction API, honouring PodDisruptionBudgets; DaemonSet and mirror pods stay); rollback uncordons",
		Targets: []string{faults.TargetKube},
		New:     func() faults.Fault { return &kube.NodeDrain{Timeout: units.Duration(30e9)} },
	},
	"container-kill": {
		Summary: "signal one container of the target pods (TERM, QUIT …) by running kill in it through pods/exec; the kubelet restarts it; needs a kill command in the image and a real kubelet",
		Targets: []string{faults.TargetKube},
		New:     func() faults.Fault { return &kube.ContainerKill{Signal: "TERM", Wait: units.Duration(30e9)} },
	},
})

// Undoers is the offline undoer of every journal action, for `chaos
// recover`: the changes the core makes (in-process, proxy-api), each
// family's, and a fault the chaos agent applied for a run (agent-fault:
// a DELETE to the agent, see faults/remote).
var Undoers = merge(faults.Undoers, process.Undoers, container.Undoers, netns.Undoers, kube.Undoers, freezer.Undoers, podproxy.Undoers)

// Undo reverts one journaled change (see faults.Undo) with Undoers.
func Undo(ctx context.Context, e journal.Entry) error { return faults.Undo(ctx, e, Undoers) }

// merge is the entries of every map; a name in two is a programming error.
func merge[V any](ms ...map[string]V) map[string]V {
	out := map[string]V{}
	for _, m := range ms {
		for name, v := range m {
			if _, dup := out[name]; dup {
				panic("kinds: " + name + " is defined twice")
			}
			out[name] = v
		}
	}
	return out
}
