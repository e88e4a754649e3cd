package remote

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/container"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/network/nettest"
	"github.com/chaos-sre/chaos/faults/remote/remotetest"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
	"github.com/chaos-sre/chaos/internal/units"
)

// realAgentWorld is the test cluster with one pod of deployment model on
// the real node, answering HTTP on 8080, and the real agent (faults/agent)
// serving in this process (as root on the node's host) behind a stand-in
// agent pod: the run's requests go through the real API server's pod proxy
// to the handler that applies them to the real pod.
func realAgentWorld(t *testing.T) (*world, targets.Target) {
	t.Helper()
	nettest.Require(t)
	w := &world{cs: kubetest.Client(t), cluster: targets.Cluster{Kubeconfig: kubetest.Kubeconfig(t)}}
	w.ns = kubetest.Namespace(t, w.cs, "chaos-agent-real")
	w.agent = remotetest.Start(t, w.cs, w.ns, func(a *remotetest.Agent) http.Handler {
		ag, err := agent.Start(context.Background(), agent.Options{Node: a.Node, StateDir: t.TempDir(), Token: a.Token, Log: tlog{t}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ag.Close(context.Background()) })
		return ag
	})
	useAgents(t, w.agent.Service)
	kubetest.Deployment(t, w.cs, w.ns, "model", 1, kubetest.PausePodSpec(8080))
	return w, w.resolve(t, targets.Spec{Deployment: "model"})[0]
}

type tlog struct{ t *testing.T }

func (l tlog) Write(b []byte) (int, error) { l.t.Logf("%s", b); return len(b), nil }

// get is how long the API server takes to get an answer from the pod's
// port 8080 (through its pod proxy, from the node), or an error.
func (w *world) get(t *testing.T, pod string, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	_, err := w.cs.CoreV1().Pods(w.ns).ProxyGet("http", pod, "8080", "/", nil).DoRaw(ctx)
	return time.Since(start), err
}

// TestRealAgentLatency: net-latency through the real agent slows the pod's
// answers while it is on, and rollback takes it off.
func TestRealAgentLatency(t *testing.T) {
	w, tgt := realAgentWorld(t)
	ctx := context.Background()
	before, err := w.get(t, tgt.Kube.Pod, 5*time.Second)
	require.NoError(t, err)
	f := New("net-latency", &netns.NetLatency{Delay: units.Duration(400 * time.Millisecond)}, 3*time.Second)
	require.NoError(t, f.Preflight(ctx, []targets.Target{tgt}))
	env, j := faultstest.Env(t, tgt)
	env.Log, env.For = tlog{t}, time.Minute
	require.NoError(t, f.Inject(ctx, env))
	t.Logf("mechanism: %s", f.Mechanism())
	during, err := w.get(t, tgt.Kube.Pod, 10*time.Second)
	require.NoError(t, err)
	time.Sleep(3500 * time.Millisecond) // past one lease: the renewals hold it
	held, err := w.get(t, tgt.Kube.Pod, 10*time.Second)
	require.NoError(t, err)
	require.NoError(t, f.Rollback(ctx))
	after, err := w.get(t, tgt.Kube.Pod, 5*time.Second)
	require.NoError(t, err)
	t.Logf("answer through the pod proxy: %s before, %s during, %s a lease later, %s after", before, during, held, after)
	assert.GreaterOrEqual(t, during, 400*time.Millisecond)
	assert.GreaterOrEqual(t, held, 400*time.Millisecond, "renewed: still on after its lease")
	assert.Less(t, after, 400*time.Millisecond)
	assert.Empty(t, j.Pending())
}

// TestRealAgentUndoesAnAbandonedFault: a run that stops renewing (killed)
// leaves its fault to the agent, which undoes it within the lease.
func TestRealAgentUndoesAnAbandonedFault(t *testing.T) {
	w, tgt := realAgentWorld(t)
	ctx := context.Background()
	lease := 3 * time.Second
	f := New("partition", &netns.Partition{Mode: "reject"}, lease)
	env, j := faultstest.Env(t, tgt)
	env.Log, env.For = tlog{t}, time.Minute
	require.NoError(t, f.Inject(ctx, env))
	_, err := w.get(t, tgt.Kube.Pod, 2*time.Second)
	require.Error(t, err, "cut off from everything")
	f.renew.stop() // as when the run is killed: no renewal, no rollback
	stopped := time.Now()
	for _, e := range j.Pending() {
		faults.Forget(e)
	}
	var back time.Duration
	kubetest.Eventually(t, "the pod answering again", 3*lease, func() bool {
		_, err := w.get(t, tgt.Kube.Pod, time.Second)
		back = time.Since(stopped)
		return err == nil
	})
	t.Logf("the pod answers again %s after the last renewal could have been sent (lease %s)", back, lease)
	assert.Less(t, back, lease+lease/3+2*time.Second, "undone within the lease (and a renewal period, and a probe)")
}

// TestRealAgentPause: pause on a pod (freeze, through the agent) hangs it:
// its port accepts, nothing answers; rollback thaws it.
func TestRealAgentPause(t *testing.T) {
	w, tgt := realAgentWorld(t)
	ctx := context.Background()
	f := New("pause", &container.Pause{}, 0)
	require.NoError(t, f.Preflight(ctx, []targets.Target{tgt}))
	env, j := faultstest.Env(t, tgt)
	env.Log, env.For = tlog{t}, time.Minute
	require.NoError(t, f.Inject(ctx, env))
	t.Logf("mechanism: %s", f.Mechanism())
	_, err := w.get(t, tgt.Kube.Pod, 2*time.Second)
	assert.Error(t, err, "a frozen pod answers nothing")
	require.NoError(t, f.Rollback(ctx))
	_, err = w.get(t, tgt.Kube.Pod, 5*time.Second)
	assert.NoError(t, err, "thawed")
	assert.Empty(t, j.Pending())
}
