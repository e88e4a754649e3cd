package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
	"github.com/chaos-sre/chaos/internal/units"
)

// The pods and events checks against the real test cluster: a namespace
// of each test's own, pods on a kwok node of its own (Running at once, no
// image) or on the real node (the pause image, for real restarts).

func kubeFixture(t *testing.T, prefix string) (kubernetes.Interface, *targets.Kubernetes) {
	t.Helper()
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, prefix)
	return cs, &targets.Kubernetes{API: cs, Cluster: targets.Cluster{Kubeconfig: kc}, Namespace: ns}
}

// observe drives samplers through a window as the engine does: a first
// sample (the baseline) now, then every SampleEvery from from until until
// returns true or limit passes; it returns the closed window.
func observe(ctx context.Context, from time.Time, limit time.Duration, until func() bool, ss ...Sampler) Window {
	for _, s := range ss {
		s.Sample(ctx, time.Now(), Window{})
	}
	w := Window{Name: "test", From: from}
	for now := time.Now(); now.Before(from.Add(limit)); now = time.Now() {
		for _, s := range ss {
			s.Sample(ctx, now, w)
		}
		if until != nil && until() {
			break
		}
		time.Sleep(SampleEvery)
	}
	w.To = time.Now()
	return w
}

// TestPodsCheckOnCluster: ready holds with as many Ready pods as asked,
// fails with fewer; max_restarts holds when nothing restarted; a
// deployment that does not exist fails with what does.
func TestPodsCheckOnCluster(t *testing.T) {
	cs, k := kubeFixture(t, "chaos-pods")
	node := kubetest.FakeNode(t, cs)
	kubetest.Deployment(t, cs, k.Namespace, "model", 2, kubetest.FakePodSpec(node))
	n := func(v int) *int { return &v }
	checks := map[string]*PodsCheck{
		"two ready":   {Target: targets.Spec{Deployment: "model"}, Ready: n(2), MaxRestarts: n(0)},
		"three ready": {Target: targets.Spec{Deployment: "model"}, Ready: n(3)},
		"typo":        {Target: targets.Spec{Deployment: "modle"}, Ready: n(1)},
	}
	var ss []Sampler
	for _, c := range checks {
		c.UseKube(k)
		ss = append(ss, c)
	}
	ctx := context.Background()
	w := observe(ctx, time.Now(), 2500*time.Millisecond, nil, ss...)

	r := checks["two ready"].Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.True(t, r.Held, "%+v", r)
	assert.Equal(t, "2 of 2 pods ready; no restarts", r.Measured)
	assert.Equal(t, "≥ 2 pods ready, restarts ≤ 0 per pod", r.Bound)

	r = checks["three ready"].Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.False(t, r.Held, "%+v", r)
	assert.Equal(t, "2 of 2 pods ready, fewer than 3", r.Reason)

	r = checks["typo"].Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.False(t, r.Held)
	assert.Contains(t, r.Reason, `target deployment "modle" in namespace "`+k.Namespace+`": no such deployment (deployments found in namespace "`+k.Namespace+`": model)`)
}

// TestPodsCheckWithinOnCluster: a deleted pod's replacement makes the
// deployment whole within the bound (held, with the time it took); a pod
// that cannot be scheduled never does (failed, saying why), and the check
// stops waiting when within has passed.
func TestPodsCheckWithinOnCluster(t *testing.T) {
	cs, k := kubeFixture(t, "chaos-pods-within")
	node := kubetest.FakeNode(t, cs)
	kubetest.Deployment(t, cs, k.Namespace, "model", 2, kubetest.FakePodSpec(node))
	stuckSpec := kubetest.FakePodSpec(node)
	stuckSpec.NodeSelector = map[string]string{"chaos-test": "nowhere"}
	kubetest.Deployment(t, cs, k.Namespace, "stuck", 0, stuckSpec)
	ctx := context.Background()
	n := func(v int) *int { return &v }

	replaced := &PodsCheck{Target: targets.Spec{Deployment: "model"}, Ready: n(2), Within: units.Duration(30 * time.Second)}
	never := &PodsCheck{Target: targets.Spec{Deployment: "stuck"}, Ready: n(1), Within: units.Duration(3 * time.Second)}
	replaced.UseKube(k)
	never.UseKube(k)
	replaced.Sample(ctx, time.Now(), Window{}) // the baseline, before the fault
	never.Sample(ctx, time.Now(), Window{})

	// the fault: one pod of model deleted, stuck scaled up to a pod that stays Pending
	pods, err := cs.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=model"})
	require.NoError(t, err)
	require.NoError(t, cs.CoreV1().Pods(k.Namespace).Delete(ctx, pods.Items[0].Name, metav1.DeleteOptions{}))
	_, err = cs.AppsV1().Deployments(k.Namespace).Patch(ctx, "stuck", "application/merge-patch+json", []byte(`{"spec":{"replicas":1}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	from := time.Now() // the recovery starts
	open := func() Evidence { return Evidence{Window: Window{From: from}, Now: time.Now()} }
	w := observe(ctx, from, 8*time.Second, func() bool { return replaced.Done(open()) && never.Done(open()) }, replaced, never)
	assert.True(t, replaced.Done(open()))
	assert.True(t, never.Done(open()), "within has passed")

	r := replaced.Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.True(t, r.Held, "%+v", r)
	assert.Regexp(t, `^2 of 2 pods ready after [0-9.]+m?s; no restarts$`, r.Measured)
	assert.Equal(t, "≥ 2 pods ready within 30s", r.Bound)

	r = never.Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.False(t, r.Held, "%+v", r)
	assert.Regexp(t, `^only 0 of 1 pods ready within 3s, fewer than 1 \(not ready: stuck-[a-z0-9-]+ \(Pending\)\)$`, r.Reason)
}

// TestPodsCheckRestartsOnCluster: a container the kubelet restarts (its
// liveness probe fails) breaks max_restarts: 0, counted from the run's
// first sample.
func TestPodsCheckRestartsOnCluster(t *testing.T) {
	cs, k := kubeFixture(t, "chaos-pods-restarts")
	spec := kubetest.PausePodSpec(0)
	spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(1)}},
		PeriodSeconds: 1, FailureThreshold: 1, InitialDelaySeconds: 5} // after the first sample
	kubetest.Deployment(t, cs, k.Namespace, "flaky", 1, spec)
	zero := 0
	c := &PodsCheck{Target: targets.Spec{Labels: map[string]string{"app": "flaky"}}, MaxRestarts: &zero}
	c.UseKube(k)
	ctx := context.Background()
	restarted := func() bool {
		l, err := cs.CoreV1().Pods(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app=flaky"})
		return err == nil && len(l.Items) == 1 && restartsOf(l.Items[0]) > 0
	}
	w := observe(ctx, time.Now(), 90*time.Second, restarted, c)
	time.Sleep(1500 * time.Millisecond) // one more look, after the restart
	c.Sample(ctx, time.Now(), Window{Name: w.Name, From: w.From})
	c.st.bg.wait()
	w.To = time.Now()
	require.True(t, restarted(), "the kubelet restarted the container")
	r := c.Evaluate(ctx, Evidence{Window: w, Now: time.Now()})
	assert.False(t, r.Held, "%+v", r)
	assert.Regexp(t, `^flaky-[a-z0-9-]+ restarted [0-9]+ times, more than 0$`, r.Reason)
	assert.Contains(t, r.Measured, "restarts: flaky-")
}
