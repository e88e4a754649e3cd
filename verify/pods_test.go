package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// These tests judge looks written by hand; pods_cluster_test.go judges
// pods of the real test cluster.

func TestPodsCheckValidate(t *testing.T) {
	n := func(v int) *int { return &v }
	dep := targets.Spec{Deployment: "model"}
	tests := []struct {
		name  string
		check PodsCheck
		want  string // "" = valid
	}{
		{"ready", PodsCheck{Target: dep, Ready: n(2)}, ""},
		{"namespace alone", PodsCheck{Target: targets.Spec{Namespace: "inference"}, MaxRestarts: n(0)}, ""},
		{"namespace beside labels", PodsCheck{Target: targets.Spec{Namespace: "x", Labels: map[string]string{"app": "m"}}, Ready: n(1), Within: units.Duration(time.Second)}, ""},
		{"no selector", PodsCheck{Ready: n(1)}, "target: names no pods"},
		{"two selectors", PodsCheck{Target: targets.Spec{Deployment: "a", Pod: "b"}, Ready: n(1)}, "target.pod: sets both deployment and pod"},
		{"a node", PodsCheck{Target: targets.Spec{Node: "n"}, Ready: n(1)}, "target: selects something other than pods"},
		{"a container", PodsCheck{Target: targets.Spec{Container: "c"}, Ready: n(1)}, "target: selects something other than pods"},
		{"nothing to judge", PodsCheck{Target: dep}, "ready: nothing to judge"},
		{"ready 0", PodsCheck{Target: dep, Ready: n(0)}, "ready: 0 pods ready always holds"},
		{"negative restarts", PodsCheck{Target: dep, MaxRestarts: n(-1)}, "max_restarts: -1 is negative"},
		{"within without ready", PodsCheck{Target: dep, MaxRestarts: n(0), Within: units.Duration(time.Second)}, "within: says how soon ready is reached"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertProblem(t, tc.check.Validate(), tc.want) })
	}
}

func TestPodNotReady(t *testing.T) {
	now := metav1.NewTime(time.Now())
	ready := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	notReady := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	crash := []corev1.ContainerStatus{{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}}}
	tests := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"ready", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: ready}}, ""},
		{"terminating though Ready", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: ready}}, "Terminating"},
		{"pending", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, "Pending"},
		{"crash looping", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: notReady, ContainerStatuses: crash}}, "CrashLoopBackOff"},
		{"running, probe failing", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: notReady}}, "Running, not Ready"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, podNotReady(tc.pod)) })
	}
}

// TestPodsCheckJudgesLooks: without within the last look inside the window
// decides; with within, the first look that found enough pods Ready, if it
// came in time; restarts are always the last look's.
func TestPodsCheckJudgesLooks(t *testing.T) {
	n := func(v int) *int { return &v }
	t0 := time.Now().Add(-time.Minute)
	w := Window{Name: "recovery", From: t0, To: t0.Add(20 * time.Second)}
	look := func(at time.Duration, ready, total int, restarts map[string]int) podsLook {
		l := podsLook{done: t0.Add(at), ready: ready, restarts: restarts}
		for i := range total {
			name := "model-" + string(rune('a'+i))
			l.pods = append(l.pods, name)
			if i >= ready {
				l.notReady = append(l.notReady, name+" (Pending)")
			}
		}
		return l
	}
	recovering := []podsLook{look(time.Second, 1, 3, nil), look(3*time.Second, 2, 3, nil), look(5*time.Second, 3, 3, nil), look(19*time.Second, 3, 3, map[string]int{"model-b": 1})}
	tests := []struct {
		name     string
		check    PodsCheck
		looks    []podsLook
		held     bool
		measured string
		reason   string
	}{
		{"ready at the end", PodsCheck{Ready: n(3)}, recovering, true, "3 of 3 pods ready; restarts: model-b 1", ""},
		{"too few at the end", PodsCheck{Ready: n(3)}, recovering[:2], false, "2 of 3 pods ready (not ready: model-c (Pending)); no restarts", "2 of 3 pods ready, fewer than 3 (not ready: model-c (Pending))"},
		{"ready within, in time", PodsCheck{Ready: n(3), Within: units.Duration(10 * time.Second)}, recovering, true, "3 of 3 pods ready after 5s; restarts: model-b 1", ""},
		{"ready within, too late", PodsCheck{Ready: n(3), Within: units.Duration(4 * time.Second)}, recovering, false, "2 of 3 pods ready (not ready: model-c (Pending)) after 3s (the last look within 4s); restarts: model-b 1", "only 2 of 3 pods ready within 4s, fewer than 3"},
		{"restarts over the bound", PodsCheck{Ready: n(3), MaxRestarts: n(0)}, recovering, false, "", "model-b restarted 1 times, more than 0"},
		{"restarts within the bound", PodsCheck{MaxRestarts: n(1)}, recovering, true, "", ""},
		{"a look outside the window does not count", PodsCheck{Ready: n(3)}, append(recovering[:2:2], look(25*time.Second, 3, 3, nil)), false, "", "2 of 3 pods ready, fewer than 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Target = targets.Spec{Deployment: "model"}
			c.st = &podsState{seen: tc.looks, baseDone: true}
			r := c.Evaluate(context.Background(), Evidence{Window: w, Now: w.To})
			assert.Equal(t, tc.held, r.Held, "%+v", r)
			if tc.measured != "" {
				assert.Equal(t, tc.measured, r.Measured)
			}
			if tc.reason != "" {
				assert.Contains(t, r.Reason, tc.reason)
			}
		})
	}
}

// TestPodsCheckWaits: with within the check is a Waiter until enough pods
// are Ready, the window closes or within passes; without, it waits for
// nothing.
func TestPodsCheckWaits(t *testing.T) {
	n := func(v int) *int { return &v }
	t0 := time.Now()
	open := Window{Name: "recovery", From: t0}
	c := &PodsCheck{Target: targets.Spec{Deployment: "m"}, Ready: n(2), Within: units.Duration(10 * time.Second)}
	assert.Equal(t, 12*time.Second, c.Limit())
	c.st = &podsState{baseDone: true, seen: []podsLook{{done: t0.Add(time.Second), ready: 1, pods: []string{"a", "b"}}}}
	assert.False(t, c.Done(Evidence{Window: open, Now: t0.Add(2 * time.Second)}), "one of two ready")
	assert.True(t, c.Done(Evidence{Window: open, Now: t0.Add(13 * time.Second)}), "within has passed")
	assert.True(t, c.Done(Evidence{Window: Window{From: t0, To: t0.Add(time.Second)}, Now: t0.Add(2 * time.Second)}), "the window has closed")
	c.st.seen = append(c.st.seen, podsLook{done: t0.Add(2 * time.Second), ready: 2, pods: []string{"a", "b"}})
	assert.True(t, c.Done(Evidence{Window: open, Now: t0.Add(3 * time.Second)}), "two ready")

	assert.Zero(t, (&PodsCheck{Ready: n(2)}).Limit(), "without within nothing to wait for")
	assert.Zero(t, (&PodsCheck{MaxRestarts: n(0), Within: units.Duration(time.Second)}).Limit())
}

// TestPodsCheckWithoutCluster: a pods check that was handed no cluster
// fails with the reason, it does not panic.
func TestPodsCheckWithoutCluster(t *testing.T) {
	n := 1
	c := &PodsCheck{Target: targets.Spec{Deployment: "m"}, Ready: &n}
	now := time.Now()
	c.Sample(context.Background(), now, Window{})
	r := c.Evaluate(context.Background(), Evidence{Window: Window{From: now.Add(-time.Second), To: now}, Now: now})
	assert.False(t, r.Held)
	assert.Contains(t, r.Reason, "no Kubernetes stack (set stack.kubernetes)")
}
