package remote

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/remote/remotetest"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
	"github.com/chaos-sre/chaos/internal/units"
)

// world is the test cluster with a namespace of the test's own, two pods
// of deployment model on the real node, and an agent of this process
// reached through the API server's pod proxy.
type world struct {
	cs      kubernetes.Interface
	cluster targets.Cluster
	ns      string
	rec     *remotetest.Recorder
	agent   *remotetest.Agent
}

func newWorld(t *testing.T, serve bool) *world {
	t.Helper()
	w := &world{cs: kubetest.Client(t), cluster: targets.Cluster{Kubeconfig: kubetest.Kubeconfig(t)}}
	w.ns = kubetest.Namespace(t, w.cs, "chaos-remote")
	w.rec = &remotetest.Recorder{}
	var h func(*remotetest.Agent) http.Handler
	if serve {
		h = func(a *remotetest.Agent) http.Handler {
			w.rec.Token, w.rec.Node = a.Token, a.Node
			return w.rec.Handler()
		}
	}
	w.agent = remotetest.Start(t, w.cs, w.ns, h)
	useAgents(t, w.agent.Service)
	kubetest.Deployment(t, w.cs, w.ns, "model", 2, kubetest.PausePodSpec(8080))
	return w
}

// useAgents points the run at agents of s for the rest of the test.
func useAgents(t *testing.T, s podproxy.Service) {
	old := Agents
	Agents = s
	t.Cleanup(func() { Agents = old })
}

func (w *world) resolve(t *testing.T, spec targets.Spec) []targets.Target {
	t.Helper()
	k := &targets.Kubernetes{API: w.cs, Cluster: w.cluster, Namespace: w.ns}
	ts, err := k.Resolve(context.Background(), spec)
	require.NoError(t, err)
	return ts
}

func (w *world) calls(method, suffix string) []remotetest.Call {
	var out []remotetest.Call
	for _, c := range w.rec.Calls() {
		if c.Method == method && strings.HasSuffix(c.Path, suffix) {
			out = append(out, c)
		}
	}
	return out
}

func latency(peers ...string) *netns.NetLatency {
	return &netns.NetLatency{Delay: units.Duration(200 * time.Millisecond), NetScope: netns.NetScope{Peers: peers}}
}

// TestInjectRenewRollback: each target pod's fault is journaled, then sent
// through the pod proxy with the token, the pod named for good and the
// peers resolved; its lease is renewed every third of it while on; rollback
// stops the renewals and deletes each fault.
func TestInjectRenewRollback(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	ts := w.resolve(t, targets.Spec{Deployment: "model"})
	require.Len(t, ts, 2)
	f := New("net-latency", latency("deployment/model"), 3*time.Second)
	require.NoError(t, f.Preflight(ctx, ts))
	assert.Equal(t, "the chaos agent on node "+w.agent.Node+", through the API server's pod proxy", f.Mechanism())
	env, j := faultstest.Env(t, ts...)
	log := &faultstest.Buffer{}
	env.Log, env.For = log, 40*time.Second
	injected := time.Now()
	require.NoError(t, f.Inject(ctx, env))
	assert.Contains(t, f.Mechanism(), ": recorded only", "the agent's own word on how")
	assert.Contains(t, log.String(), "net-latency on pod "+w.ns+"/"+ts[0].Kube.Pod+" by the chaos agent on node "+w.agent.Node)

	posts := w.calls(http.MethodPost, agent.PathFaults)
	require.Len(t, posts, 2)
	pending := j.Pending()
	require.Len(t, pending, 2, "one journal entry per pod")
	var ips []string
	for _, tg := range ts {
		ips = append(ips, tg.Kube.IP)
	}
	for _, c := range posts {
		assert.Equal(t, w.agent.Token, c.Token)
		var req agent.Request
		require.NoError(t, json.Unmarshal(c.Body, &req))
		assert.Equal(t, "net-latency", req.Kind)
		assert.Equal(t, "test", req.Run)
		assert.Equal(t, "f", req.Fault)
		assert.EqualValues(t, 3000, req.LeaseMillis)
		assert.EqualValues(t, 40000, req.ForMillis)
		assert.True(t, strings.HasPrefix(req.ID, "test."), req.ID)
		var tgt targets.Target
		for _, tg := range ts {
			if tg.Kube.Pod == req.Pod.Name {
				tgt = tg
			}
		}
		require.NotNil(t, tgt.Kube, "a request for %s, not a target", req.Pod.Name)
		assert.Equal(t, agent.Pod{Namespace: w.ns, Name: tgt.Kube.Pod, UID: tgt.Kube.PodUID, Container: "pause", ContainerID: req.Pod.ContainerID}, req.Pod)
		assert.True(t, strings.HasPrefix(req.Pod.ContainerID, "containerd://"), req.Pod.ContainerID)
		var params map[string]any
		require.NoError(t, json.Unmarshal(req.Params, &params))
		assert.Equal(t, "200ms", params["delay"])
		assert.ElementsMatch(t, ips, params["peers"], "deployment/model: its pods' addresses")

		var e journal.Entry
		for _, p := range pending {
			if p.Target == tgt.Name {
				e = p
			}
		}
		assert.Equal(t, podproxy.Action, e.Action)
		held, err := faults.Decode[podproxy.Held](e)
		require.NoError(t, err)
		assert.Equal(t, req.ID, held.ID)
		assert.Equal(t, agent.PathFaults+"/"+req.ID, held.Undo)
		assert.Equal(t, w.agent.Pod, held.Agent.Name)
		assert.Equal(t, w.agent.Node, held.Node)
		assert.Equal(t, podproxy.Pod{Namespace: w.ns, Name: tgt.Kube.Pod, UID: tgt.Kube.PodUID}, held.Target)
		keys, err := f.LeaseKeys(ctx, tgt)
		require.NoError(t, err)
		assert.Equal(t, keys, []string{e.Key}, "the entry's key is the pod's lease key")
		assert.Contains(t, e.Key, "/namespaces/"+w.ns+"/pods/"+tgt.Kube.Pod)
	}

	kubetest.Eventually(t, "two renewals of each fault", 10*time.Second, func() bool {
		return len(w.calls(http.MethodPost, "/renew")) >= 4
	})
	renews := w.calls(http.MethodPost, "/renew")
	assert.Less(t, renews[0].At.Sub(injected), 3*time.Second, "the first renewal comes before the lease would run out")
	for _, c := range renews {
		assert.Equal(t, w.agent.Token, c.Token)
		assert.JSONEq(t, `{"lease_ms":3000}`, string(c.Body))
	}

	require.NoError(t, f.Rollback(ctx))
	assert.Empty(t, w.rec.Held(), "every fault deleted")
	assert.Len(t, w.calls(http.MethodDelete, ""), 2)
	assert.Empty(t, j.Pending(), "every entry undone")
	n := len(w.calls(http.MethodPost, "/renew"))
	time.Sleep(1500 * time.Millisecond)
	assert.Len(t, w.calls(http.MethodPost, "/renew"), n, "no renewal after rollback")
	assert.NotContains(t, log.String(), "warning")
	require.NoError(t, f.Rollback(ctx), "a second rollback has nothing to do")
}

// TestOfflineUndoAndLostLease: the journal entry alone undoes the fault
// (chaos recover, once the run that made it is gone); a renewal the agent
// answers 404 (its lease ran out, or it was undone) says the fault is off
// and renews it no more.
func TestOfflineUndoAndLostLease(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	ts := w.resolve(t, targets.Spec{Deployment: "model", Pick: "one"})[:1]
	f := New("partition", &netns.Partition{NetScope: netns.NetScope{Peers: []string{"10.1.2.3"}}}, 3*time.Second)
	env, j := faultstest.Env(t, ts...)
	log := &faultstest.Buffer{}
	env.Log, env.For = log, time.Minute
	require.NoError(t, f.Inject(ctx, env))
	e := j.Pending()[0]
	faults.Forget(e) // as in `chaos recover`: the maker is gone
	require.NoError(t, kinds.Undo(ctx, e))
	assert.Empty(t, w.rec.Held())
	kubetest.Eventually(t, "the renewer to find the fault gone", 5*time.Second, func() bool {
		return strings.Contains(log.String(), "no longer holds fault")
	})
	assert.Contains(t, log.String(), "the fault is off; no longer renewed")
	n := len(w.calls(http.MethodPost, "/renew"))
	time.Sleep(1500 * time.Millisecond)
	assert.Len(t, w.calls(http.MethodPost, "/renew"), n, "a fault the agent no longer holds is not renewed")
	f.renew.stop()

	// the agent pod replaced: the undo goes to the one on the node now
	e.Data, _ = json.Marshal(func() podproxy.Held {
		h, _ := faults.Decode[podproxy.Held](e)
		h.Agent.UID = "an-agent-since-replaced"
		return h
	}())
	deletes := len(w.calls(http.MethodDelete, ""))
	require.NoError(t, kinds.Undo(ctx, e))
	assert.Len(t, w.calls(http.MethodDelete, ""), deletes+1)

	// another cluster behind the kubeconfig now: nothing done
	e.Data, _ = json.Marshal(func() podproxy.Held {
		h, _ := faults.Decode[podproxy.Held](e)
		h.Server = "https://elsewhere:6443"
		return h
	}())
	e.Key = podproxy.PodKey("https://elsewhere:6443", w.ns, ts[0].Kube.Pod)
	err := kinds.Undo(ctx, e)
	assert.True(t, faults.IsNotSame(err), "%v", err)
}

// TestRefusals: no agent on the node stops preflight with how to install
// it; an agent that finds the request invalid makes it an invalid
// experiment (targets.ErrRefused), and the run still deletes what it
// journaled; a wrong token is said so.
func TestRefusals(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	ts := w.resolve(t, targets.Spec{Deployment: "model"})

	none := w.agent.Service
	none.Selector = "app.kubernetes.io/name=no-agent-" + kubetest.Suffix()
	useAgents(t, none)
	err := New("net-loss", &netns.NetLoss{Loss: 0.1}, 0).Preflight(ctx, ts)
	var na *podproxy.NoAgentError
	require.ErrorAs(t, err, &na)
	t.Log(err)
	assert.Contains(t, err.Error(), "no chaos agent on node "+w.agent.Node)
	assert.Contains(t, err.Error(), "examples/kubernetes/agent/install.sh")
	assert.False(t, errors.Is(err, targets.ErrRefused), "an environment problem: exit 4")

	useAgents(t, w.agent.Service)
	w.rec.InvalidKind = "dns"
	f := New("dns", &netns.DNS{Mode: "fail"}, 0)
	require.NoError(t, f.Preflight(ctx, ts))
	env, j := faultstest.Env(t, ts...)
	err = f.Inject(ctx, env)
	require.Error(t, err)
	assert.ErrorIs(t, err, targets.ErrRefused)
	assert.Contains(t, err.Error(), "refused to apply it: kind dns is refused here")
	require.NoError(t, f.Rollback(ctx))
	assert.Empty(t, j.Pending())

	_, err = w.cs.CoreV1().Secrets(w.ns).Update(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "agent-token"},
		Data: map[string][]byte{"token": []byte("not-the-token")}}, metav1.UpdateOptions{})
	require.NoError(t, err)
	err = New("net-loss", &netns.NetLoss{Loss: 0.1}, 0).Preflight(ctx, ts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused the token of Secret")
	assert.False(t, errors.Is(err, targets.ErrRefused))

	node := w.resolve(t, targets.Spec{Node: w.agent.Node})
	err = New("net-loss", &netns.NetLoss{Loss: 0.1}, 0).Preflight(ctx, node)
	assert.ErrorIs(t, err, targets.ErrRefused, "a node is not a pod: %v", err)
}

// TestUnreachable: an agent pod whose port does not answer is an
// environment problem (exit 4), said with the API server's reason.
func TestUnreachable(t *testing.T) {
	w := newWorld(t, false)
	ts := w.resolve(t, targets.Spec{Deployment: "model"})
	err := New("net-loss", &netns.NetLoss{Loss: 0.1}, 0).Preflight(context.Background(), ts)
	var ue *podproxy.UnreachableError
	require.ErrorAs(t, err, &ue, "%v", err)
	t.Log(err)
	assert.Contains(t, err.Error(), "through the API server's pod proxy")
	assert.False(t, errors.Is(err, targets.ErrRefused))
}
