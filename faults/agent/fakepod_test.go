//go:build linux

package agent

import (
	"context"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/agent/agenttest"
)

// startNodeAgent starts an agent that finds pods through /proc, as on a node.
func startNodeAgent(t *testing.T) *testAgent {
	t.Helper()
	return startAgent(t, t.TempDir(), func(_ context.Context, p Pod) (Proc, error) { return FindPod("/proc", "test-node", p) })
}

func podRequest(id, kind, params string, p *agenttest.Pod) Request {
	r := request(id, kind, params, p.UID, time.Minute)
	r.Pod.Name = "web-1"
	return r
}

func TestPauseFreezesThePodsCgroup(t *testing.T) {
	p := agenttest.New(t)
	ta := startNodeAgent(t)
	var got Applied
	status, e := ta.call(t, http.MethodPost, PathFaults, podRequest("f1", "pause", `{}`, p), &got)
	require.Equal(t, http.StatusOK, status, e.Error)
	assert.Equal(t, p.ContainerID, got.Pod.ContainerID, "the app's container, not the sandbox")
	assert.Equal(t, "pause", got.Kind)
	assert.Contains(t, got.Mechanism, "freezer on the pod's cgroup")
	assert.Contains(t, []string{"FROZEN", "1"}, p.Frozen())
	var u Undone
	status, e = ta.call(t, http.MethodDelete, PathFaults+"/f1", nil, &u)
	require.Equal(t, http.StatusOK, status, e.Error)
	assert.Contains(t, []string{"THAWED", "0"}, p.Frozen())
	assert.Empty(t, ta.j.Pending())
}

func TestAFrozenPodDeletedIsDropped(t *testing.T) {
	p := agenttest.New(t)
	ta := startNodeAgent(t)
	status, e := ta.call(t, http.MethodPost, PathFaults, podRequest("f1", "freeze", `null`, p), nil)
	require.Equal(t, http.StatusOK, status, e.Error)
	status, e = ta.call(t, http.MethodPost, PathFaults, podRequest("f2", "partition", `{}`, p), nil)
	require.Equal(t, http.StatusOK, status, e.Error)
	// the kubelet's SIGTERM: runc does not thaw a frozen container, so it
	// stays pending until the agent does
	p.Stop(syscall.SIGTERM)
	stopped := time.Now()
	waitFor(t, "the agent to let go of the pod", 10*time.Second, func() bool { return len(ta.list()) == 0 })
	t.Logf("thawed and let go of the pod %s after its SIGTERM", time.Since(stopped))
	waitFor(t, "the undo journaled", 5*time.Second, func() bool { return len(ta.j.Pending()) == 0 })
	assert.Contains(t, []string{"Z", "gone"}, agenttest.ProcessState(p.App.Process.Pid), "thawed, it took its SIGTERM")
	assert.Empty(t, left(t, p.NS))
	assert.Contains(t, ta.log.String(), "its pod is being stopped")
	assert.Contains(t, ta.log.String(), "no process holds its network namespace")
}

func TestNetLatencyOnAPodGoneWithThePod(t *testing.T) {
	p := agenttest.New(t)
	ta := startNodeAgent(t)
	req := podRequest("f1", "net-latency", `{"delay":"20ms","direction":"both"}`, p)
	req.Pod.Container, req.Pod.ContainerID = "app", "containerd://"+p.ContainerID
	status, e := ta.call(t, http.MethodPost, PathFaults, req, nil)
	require.Equal(t, http.StatusOK, status, e.Error)
	require.Len(t, left(t, p.NS), 2, "a table and the shaper's queue in the pod's namespace")
	assert.NotContains(t, nft(t, hostNS()), "chaos-agent-", "nothing in the host's namespace")

	p.Kill()
	gone := time.Now()
	waitFor(t, "the agent to let go of the pod", 10*time.Second, func() bool { return len(ta.list()) == 0 })
	t.Logf("let go %s after the pod's processes were gone", time.Since(gone))
	waitFor(t, "the undo journaled", 5*time.Second, func() bool { return len(ta.j.Pending()) == 0 })
	assert.Empty(t, left(t, p.NS))
}
