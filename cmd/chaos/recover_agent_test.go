package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/remote/remotetest"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// TestRecoverKubernetesAsksTheAgents: recover --kubernetes undoes, through
// the agent that holds it, a fault a dead run of this host journaled (the
// journal pass) and one whose lease ran out (the agents' sweep); it leaves
// a live run's fault, and another host's whose lease is still on until
// --force. The agent runs in this process behind a stand-in pod, reached
// through the real API server's pod proxy, and so does recover.
func TestRecoverKubernetesAsksTheAgents(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ctx := context.Background()
	ns := kubetest.Namespace(t, cs, "chaos-recover-agent")
	rec := &remotetest.Recorder{}
	a := remotetest.Start(t, cs, ns, func(a *remotetest.Agent) http.Handler {
		rec.Token, rec.Node = a.Token, a.Node
		return rec.Handler()
	})
	old := remote.Agents
	remote.Agents = a.Service
	t.Cleanup(func() { remote.Agents = old })
	cluster := targets.Cluster{Kubeconfig: kc}
	state := t.TempDir()
	suffix := fmt.Sprintf("%06x", rand.Uint32()&0xffffff)
	run := func(name string) string { return name + "-" + suffix }
	target := agent.Pod{Namespace: ns, Name: a.Pod}
	hold := func(r string, expires time.Time) string {
		id := r + ".1." + a.Pod
		rec.Hold(agent.Applied{ID: id, Run: r, Kind: "net-latency", Pod: target, Node: a.Node, Expires: expires.UTC().Format(time.RFC3339Nano)})
		return id
	}
	soon := time.Now().Add(time.Hour)
	live := hold(run("live"), soon)
	dead := hold(run("dead"), soon)
	elsewhere := hold(run("elsewhere"), soon)
	expired := hold(run("expired"), time.Now().Add(-time.Second))

	// this host's runs: one still running (its journal locked), one dead
	// whose journal holds its fault's entry
	jl, err := journal.Open(runpkg.JournalDir(state), journal.Meta{Run: run("live")})
	require.NoError(t, err)
	t.Cleanup(func() { _ = jl.Close() })
	jd, err := journal.Open(runpkg.JournalDir(state), journal.Meta{Run: run("dead")})
	require.NoError(t, err)
	ag, err := remote.Agents.OnNode(ctx, cluster, a.Node, nil)
	require.NoError(t, err)
	held := ag.Held(podproxy.Pod{Namespace: ns, Name: a.Pod}, dead, agent.PathFaults+"/"+dead)
	require.NoError(t, jd.Lease(held.LeaseKey()))
	e, err := jd.Record("slow", a.Pod, held.LeaseKey(), podproxy.Action, held)
	require.NoError(t, err)
	require.NoError(t, jd.Done(e.ID))
	require.NoError(t, jd.Close(), "the run is dead: its journal unlocked, the entry pending")

	// in this process, which points remote.Agents at the stand-in
	recov := func(r string, force ...bool) (int, string, string) {
		var out, errb bytes.Buffer
		o := recoverOptions{stateDir: state, run: r, kubernetes: true, cluster: cluster, stale: time.Minute, force: len(force) > 0}
		if err := recoverRuns(ctx, o, &out, &errb); err != nil {
			return 4, out.String(), errb.String() + err.Error()
		}
		return 0, out.String(), errb.String()
	}
	code, out, stderr := recov(run("dead"))
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "undid slow on "+a.Pod+" (run "+run("dead")+", agent-fault)")
	assert.NotContains(t, rec.Held(), dead)

	code, out, stderr = recov(run("expired"))
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "undid net-latency on pod "+ns+"/"+a.Pod+" (run "+run("expired")+", id "+expired+", held by the chaos agent on node "+a.Node)
	assert.NotContains(t, rec.Held(), expired)

	code, out, stderr = recov(run("live"), true)
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "left net-latency on pod "+ns+"/"+a.Pod+" (run "+run("live"))
	assert.Contains(t, out, "is still running (its journal is locked)")
	assert.Contains(t, rec.Held(), live)

	code, out, stderr = recov(run("elsewhere"))
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "has no journal on this host (another machine's, or its journal is gone), and its lease runs until")
	assert.Contains(t, out, "--force undoes it now")
	assert.Contains(t, out, "1 live run(s) left alone")
	assert.Contains(t, rec.Held(), elsewhere)
	code, out, stderr = recov(run("elsewhere"), true)
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "undid net-latency on pod "+ns+"/"+a.Pod+" (run "+run("elsewhere"))
	assert.NotContains(t, rec.Held(), elsewhere)
}
