package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// testCluster is the real test cluster with a namespace of the test's own;
// kwok's fake nodes hold the test's pods (Running, with no kubelet).
type testCluster struct {
	cs      kubernetes.Interface
	cluster targets.Cluster
	ns      string
}

func suffix() string { return fmt.Sprintf("%06x", rand.Uint32()&0xffffff) }

// newCluster finds the test cluster (or skips) and makes the test's
// namespace, deleted at its end.
func newCluster(t *testing.T) *testCluster {
	t.Helper()
	kc := kubetest.Kubeconfig(t)
	c := &testCluster{cs: kubetest.Client(t), cluster: targets.Cluster{Kubeconfig: kc}, ns: "chaos-kube-" + suffix()}
	ctx := context.Background()
	_, err := c.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: c.ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.cs.CoreV1().Namespaces().Delete(context.Background(), c.ns, metav1.DeleteOptions{})
	})
	return c
}

// fakeNode makes a kwok node (deleted at the end of the test) and waits
// until kwok says it is Ready.
func (c *testCluster) fakeNode(t *testing.T) string {
	t.Helper()
	name := "chaos-fake-" + suffix()
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("200")}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": name, "kubernetes.io/role": "agent", "chaos-test": "kube"}},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Allocatable: res, Capacity: res},
	}
	ctx := context.Background()
	_, err := c.cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	c.eventually(t, "node "+name+" Ready", func() bool {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	return name
}

// podSpec runs on node (a fake one), with kwok's taint tolerated.
func podSpec(node string) corev1.PodSpec {
	zero := int64(0)
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{"kubernetes.io/hostname": node},
		Tolerations:                   []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		Containers:                    []corev1.Container{{Name: "app", Image: "fake/app:1"}},
		TerminationGracePeriodSeconds: &zero,
	}
}

// deployment makes a deployment of n pods on node and waits for them to run.
func (c *testCluster) deployment(t *testing.T, name, node string, n int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(node)}},
	}
	_, err := c.cs.AppsV1().Deployments(c.ns).Create(context.Background(), d, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, fmt.Sprintf("%d pods of %s running", n, name), func() bool { return len(c.running(t, name)) == int(n) })
}

// running is the Running pods of app, not terminating.
func (c *testCluster) running(t *testing.T, app string) []corev1.Pod {
	t.Helper()
	l, err := c.cs.CoreV1().Pods(c.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	var out []corev1.Pod
	for _, p := range l.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

// barePod makes a pod no controller owns on node and waits for it to run.
func (c *testCluster) barePod(t *testing.T, name, node string) corev1.Pod {
	t.Helper()
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns, Labels: map[string]string{"app": name}}, Spec: podSpec(node)}
	_, err := c.cs.CoreV1().Pods(c.ns).Create(context.Background(), p, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, "pod "+name+" running", func() bool { return len(c.running(t, name)) == 1 })
	return c.running(t, name)[0]
}

// pdb makes a PodDisruptionBudget that keeps minAvailable pods of app.
func (c *testCluster) pdb(t *testing.T, app string, minAvailable int) {
	t.Helper()
	m := intstr.FromInt32(int32(minAvailable))
	p := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: c.ns},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &m, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	_, err := c.cs.PolicyV1().PodDisruptionBudgets(c.ns).Create(context.Background(), p, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, "budget of "+app+" observed", func() bool {
		p, err := c.cs.PolicyV1().PodDisruptionBudgets(c.ns).Get(context.Background(), app, metav1.GetOptions{})
		return err == nil && p.Status.ObservedGeneration == p.Generation && p.Status.CurrentHealthy >= int32(minAvailable)
	})
}

// podTargets are the running pods of app as the resolver makes them.
func (c *testCluster) podTargets(t *testing.T, app string) []targets.Target {
	t.Helper()
	var out []targets.Target
	for _, p := range c.running(t, app) {
		k := &targets.Kube{Cluster: c.cluster, Namespace: c.ns, Pod: p.Name, PodUID: string(p.UID), Node: p.Spec.NodeName}
		if metav1.GetControllerOf(&p) != nil {
			k.OwnerKind, k.Owner = "Deployment", app
		}
		out = append(out, targets.Target{Name: c.ns + "/" + p.Name, Kube: k})
	}
	require.NotEmpty(t, out, "pods of %s", app)
	return out
}

// workloadTarget is a deployment with no pod, as the resolver makes it.
func (c *testCluster) workloadTarget(name string) targets.Target {
	return targets.Target{Name: c.ns + "/" + name, Kube: &targets.Kube{Cluster: c.cluster, Namespace: c.ns, OwnerKind: "Deployment", Owner: name}}
}

// nodeTarget is a node target.
func (c *testCluster) nodeTarget(node string) targets.Target {
	return targets.Target{Name: node, Kube: &targets.Kube{Cluster: c.cluster, Node: node}}
}

func (c *testCluster) replicas(t *testing.T, name string) int32 {
	t.Helper()
	d, err := c.cs.AppsV1().Deployments(c.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return *d.Spec.Replicas
}

func (c *testCluster) annotations(t *testing.T, r Ref) map[string]string {
	t.Helper()
	o, err := get(context.Background(), c.cs, r)
	require.NoError(t, err)
	return o.meta.Annotations
}

func (c *testCluster) unschedulable(t *testing.T, node string) bool {
	t.Helper()
	n, err := c.cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	require.NoError(t, err)
	return n.Spec.Unschedulable
}

func (c *testCluster) ref(t *testing.T, resource, ns, name string) Ref {
	t.Helper()
	s, err := kclient.Server(c.cluster)
	require.NoError(t, err)
	return Ref{Cluster: c.cluster, Server: s, Resource: resource, Namespace: ns, Name: name}
}

// eventually polls cond for up to 60 s (kwok and the controllers act within
// a second or two; the budget is for a loaded CI machine).
func (c *testCluster) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runEnv is an injection environment of a run named run on tgts, with its
// own journal and a log to read.
func runEnv(t *testing.T, run string, tgts ...targets.Target) (faults.Env, *journal.Journal, *faultstest.Buffer) {
	t.Helper()
	env, _ := faultstest.Env(t, tgts...)
	j, err := journal.Open(t.TempDir(), journal.Meta{Run: run})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	log := &faultstest.Buffer{}
	env.Journal, env.Log, env.Fault = j, log, "f-"+run
	return env, j, log
}

// markOn reads the mark under key on r.
func (c *testCluster) markOn(t *testing.T, r Ref, key string) (Mark, bool) {
	t.Helper()
	ms, err := marks(c.annotations(t, r))
	require.NoError(t, err)
	m, ok := ms[key]
	return m, ok
}

// offlineCluster is a cluster whose kubeconfig names a server nobody
// asks: for what reads the kubeconfig only.
func offlineCluster(t *testing.T) targets.Cluster {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://192.0.2.1:6443"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
	return targets.Cluster{Kubeconfig: kc}
}

func jsonMerge(v any) ([]byte, error) { return json.Marshal(v) }
