package remote

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// TestFollowPeers: a fault whose peers name a deployment follows its pods.
// When the peer pod is replaced (a new address), each target's agent gets
// the fault with the new address, journaled first, before the old fault is
// deleted; the rollback deletes what is held then, and nothing is left.
func TestFollowPeers(t *testing.T) {
	w := newWorld(t, true)
	ctx := context.Background()
	kubetest.Deployment(t, w.cs, w.ns, "peer", 1, kubetest.PausePodSpec(8080))
	defer func(old time.Duration) { FollowEvery = old }(FollowEvery)
	FollowEvery = 300 * time.Millisecond

	ts := w.resolve(t, targets.Spec{Deployment: "model"})
	require.Len(t, ts, 2)
	f := New("net-latency", latency("deployment/peer"), 3*time.Second)
	env, j := faultstest.Env(t, ts...)
	log := &faultstest.Buffer{}
	env.Log, env.For = log, time.Minute
	require.NoError(t, f.Inject(ctx, env))
	before := w.peersHeld(t)
	require.Len(t, before, 2, "one fault per target pod")
	oldIP := w.podIP(t, "app=peer")
	for _, peers := range before {
		assert.Equal(t, []string{oldIP}, peers)
	}

	pods, err := w.cs.CoreV1().Pods(w.ns).List(ctx, metav1.ListOptions{LabelSelector: "app=peer"})
	require.NoError(t, err)
	require.NoError(t, w.cs.CoreV1().Pods(w.ns).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	kubetest.WaitReady(t, w.cs, w.ns, "app=peer", 1)
	newIP := w.podIP(t, "app=peer")
	require.NotEqual(t, oldIP, newIP, "the replacement pod has another address")

	kubetest.Eventually(t, "each target's fault follows the peer to "+newIP, 10*time.Second, func() bool {
		now := w.peersHeld(t)
		if len(now) != 2 {
			return false
		}
		for _, peers := range now {
			if !slices.Equal(peers, []string{newIP}) {
				return false
			}
		}
		return true
	})
	for id := range before {
		assert.NotContains(t, w.rec.Held(), id, "the fault with the old address is deleted")
	}
	assert.Len(t, j.Pending(), 2, "the old entries are undone, the new ones journaled")
	assert.Contains(t, log.String(), "peers now "+newIP)
	assert.NotContains(t, log.String(), "warning")

	require.NoError(t, f.Rollback(ctx))
	assert.Empty(t, w.rec.Held())
	assert.Empty(t, j.Pending())
	n := len(w.calls(http.MethodPost, agent.PathFaults))
	time.Sleep(3 * FollowEvery)
	assert.Len(t, w.calls(http.MethodPost, agent.PathFaults), n, "no fault applied after rollback")
}

// peersHeld is the peers of each fault the agent holds, by id, from the
// requests that applied them.
func (w *world) peersHeld(t *testing.T) map[string][]string {
	t.Helper()
	held := w.rec.Held()
	out := map[string][]string{}
	for _, c := range w.calls(http.MethodPost, agent.PathFaults) {
		var req agent.Request
		if json.Unmarshal(c.Body, &req) != nil {
			continue
		}
		if _, ok := held[req.ID]; !ok {
			continue
		}
		var p struct{ Peers []string }
		require.NoError(t, json.Unmarshal(req.Params, &p))
		out[req.ID] = p.Peers
	}
	return out
}

// podIP is the address of the one running pod selector matches.
func (w *world) podIP(t *testing.T, selector string) string {
	t.Helper()
	l, err := w.cs.CoreV1().Pods(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	require.NoError(t, err)
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil && p.Status.PodIP != "" {
			return p.Status.PodIP
		}
	}
	t.Fatalf("no pod %s with an address", selector)
	return ""
}
