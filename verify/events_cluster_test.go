package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// TestEventsCheckOnCluster: a pod of a deployment (on a kwok node) is
// deleted in the window; the scheduler placing its replacement is counted
// there, not in a quiet window before; a bound the events break fails with
// the numbers, and a reason that never came (kwok has no kubelet to kill a
// container) fails listing what did. (The scheduler's events carry
// microseconds and are posted at once; the controller manager's may be
// dropped when a test elsewhere floods the shared cluster.)
func TestEventsCheckOnCluster(t *testing.T) {
	cs, k := kubeFixture(t, "chaos-events")
	node := kubetest.FakeNode(t, cs)
	kubetest.Deployment(t, cs, k.Namespace, "model", 1, kubetest.FakePodSpec(node))
	n := func(v int) *int { return &v }
	checks := map[string]*EventsCheck{
		"rescheduled":          {Reason: "Scheduled", Object: &EventObject{Kind: "pod", Name: "model-.*"}, Type: "Normal", Message: "assigned"},
		"none scheduled":       {Reason: "Scheduled", Max: n(0)},
		"a container killed":   {Reason: "Killing", Min: n(1)},
		"scheduled before":     {Reason: "Scheduled|SuccessfulCreate", Min: n(1)},
		"in another namespace": {Reason: "Scheduled", Namespace: "kube-public"},
	}
	ctx := context.Background()
	watching, stop := context.WithCancel(ctx) // as the engine's sampling
	defer stop()
	for _, c := range checks {
		c.UseKube(k)
		c.Sample(watching, time.Now(), Window{}) // the baseline, then the watch
	}
	time.Sleep(1500 * time.Millisecond) // a quiet window, after the deployment's own events
	before := Window{Name: "before", From: time.Now()}
	time.Sleep(1500 * time.Millisecond)
	before.To = time.Now()

	w := Window{Name: "pod deleted", From: time.Now()}
	pods, err := cs.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=model"})
	require.NoError(t, err)
	require.NoError(t, cs.CoreV1().Pods(k.Namespace).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}))
	kubetest.WaitReady(t, cs, k.Namespace, "app=model", 1)
	w.To = time.Now().Add(time.Second)

	eval := func(name string, w Window) Result {
		return checks[name].Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	}
	r := eval("rescheduled", w)
	assert.True(t, r.Held, "%+v", r)
	assert.Regexp(t, `^1 matching events: Scheduled Pod/model-[a-z0-9]+-[a-z0-9]+$`, r.Measured)
	assert.Equal(t, `≥ 1 events (reason Scheduled, object pod/model-.*, type Normal, message ~ "assigned")`, r.Bound)

	r = eval("none scheduled", w)
	assert.False(t, r.Held, "%+v", r)
	assert.Equal(t, "1 matching events in pod deleted, more than 0", r.Reason)

	r = eval("a container killed", w)
	assert.False(t, r.Held, "%+v", r)
	assert.Contains(t, r.Reason, "0 matching events in pod deleted, fewer than 1 (events in the window by reason: ")
	assert.Contains(t, r.Reason, "Scheduled")

	r = eval("scheduled before", before)
	assert.False(t, r.Held, "the deployment's own events came before this window: %+v", r)
	assert.Contains(t, r.Reason, "0 matching events in before, fewer than 1 (no other events in the window either)")

	r = eval("in another namespace", w)
	assert.False(t, r.Held, "%+v", r)

	k2 := &targets.Kubernetes{API: cs, Namespace: "chaos-no-such-ns"}
	c := &EventsCheck{Reason: "Killing"}
	c.UseKube(k2)
	r = c.Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.False(t, r.Held)
}
