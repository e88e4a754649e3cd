package e2ekube

import (
	"context"
	"fmt"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// kwok (started by cluster.sh) runs the nodes annotated kwok.x-k8s.io/node:
// fake: it keeps them Ready and the pods bound to them Running, with no
// kubelet and no container. The taint keeps every other pod off them.
const (
	kwokAnnotation = "kwok.x-k8s.io/node"
	kwokTaint      = "kwok.x-k8s.io/node"
)

// fakeNode creates a node kwok manages, named for this test's namespace,
// waits until kwok reports it Ready, and deletes it at cleanup.
func (c *cluster) fakeNode(suffix string) string {
	c.t.Helper()
	name := c.ns + "-" + suffix
	qty := func(s string) resource.Quantity { return resource.MustParse(s) }
	room := corev1.ResourceList{corev1.ResourceCPU: qty("32"), corev1.ResourceMemory: qty("256Gi"), corev1.ResourcePods: qty("110")}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Annotations: map[string]string{kwokAnnotation: "fake"},
			Labels: map[string]string{"type": "kwok", "kubernetes.io/hostname": name,
				"app.kubernetes.io/managed-by": "chaos-e2ekube"}},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: kwokTaint, Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Capacity: room, Allocatable: room},
	}
	ctx := context.Background()
	_, err := c.cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	require.NoError(c.t, err, "create fake node %s", name)
	c.t.Cleanup(func() {
		if err := c.cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			c.t.Errorf("delete fake node %s: %v", name, err)
		}
	})
	waitUntil(c.t, "kwok to make node "+name+" Ready", 30*time.Second, func() bool {
		n, err := c.cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue
			}
		}
		return false
	})
	return name
}

// fakeDeployment creates a Deployment of n pods that tolerate kwok's taint
// and may only run on the given nodes, and waits until they all run.
func (c *cluster) fakeDeployment(name string, n int32, nodes ...string) {
	c.t.Helper()
	labels := map[string]string{"app.kubernetes.io/name": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &n,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers:  []corev1.Container{{Name: "app", Image: "fake.invalid/app:1"}},
					Tolerations: []corev1.Toleration{{Key: kwokTaint, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
						RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
							MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: nodes}},
						}}}}},
				},
			},
		},
	}
	_, err := c.cs.AppsV1().Deployments(c.ns).Create(context.Background(), d, metav1.CreateOptions{})
	require.NoError(c.t, err, "create deployment %s", name)
	waitUntil(c.t, fmt.Sprintf("%d pods of %s running", n, name), time.Minute, func() bool {
		return len(c.runningPods(name, "")) == int(n)
	})
}

// runningPods lists the names of the running, not terminating pods of app
// name, on node ("" = any).
func (c *cluster) runningPods(name, node string) []string {
	c.t.Helper()
	opts := metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name}
	if node != "" {
		opts.FieldSelector = "spec.nodeName=" + node
	}
	ps, err := c.cs.CoreV1().Pods(c.ns).List(context.Background(), opts)
	require.NoError(c.t, err)
	var out []string
	for _, p := range ps.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out = append(out, p.Name)
		}
	}
	return out
}

// unschedulable reports whether node is cordoned.
func (c *cluster) unschedulable(node string) bool {
	c.t.Helper()
	n, err := c.cs.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	require.NoError(c.t, err)
	return n.Spec.Unschedulable
}
