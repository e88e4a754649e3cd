package kubetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
)

// PauseImage is the image the test cluster has without a registry
// (cluster.sh loads it): a static binary that waits for SIGTERM, and with
// -listen :PORT answers HTTP.
const PauseImage = "chaos-k8s/pause:1"

// Suffix is a random suffix for the names a test makes.
func Suffix() string { return fmt.Sprintf("%06x", rand.Uint32()&0xffffff) }

// Namespace makes a namespace named prefix-RANDOM for the test, deleted
// (with everything in it) when the test ends, once pods can be made in it.
func Namespace(t testing.TB, cs kubernetes.Interface, prefix string) string {
	t.Helper()
	name := prefix + "-" + Suffix()
	_, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	// pods are refused until the controller manager has made the
	// namespace's default ServiceAccount (a workload would back off)
	Eventually(t, "the default ServiceAccount of "+name, time.Minute, func() bool {
		_, err := cs.CoreV1().ServiceAccounts(name).Get(context.Background(), "default", metav1.GetOptions{})
		return err == nil
	})
	return name
}

// FakeNode makes a kwok node (annotated kwok.x-k8s.io/node: fake, labelled
// type: kwok, tainted so real pods stay off), deleted when the test ends,
// and waits until kwok reports it Ready. Pods of FakePodSpec run on it at
// once, with no kubelet and no image.
func FakeNode(t testing.TB, cs kubernetes.Interface) string {
	t.Helper()
	name := "chaos-fake-" + Suffix()
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("200")}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
			Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": name}},
		Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Allocatable: res, Capacity: res},
	}
	ctx := context.Background()
	if _, err := cs.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create fake node %s: %v", name, err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	Eventually(t, "fake node "+name+" Ready", time.Minute, func() bool {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true
			}
		}
		return false
	})
	return name
}

// FakePodSpec runs on a fake node: its selector and kwok's taint
// tolerated; one container "app" declaring port 8080; deleted at once.
func FakePodSpec(node string) corev1.PodSpec {
	zero := int64(0)
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{"kubernetes.io/hostname": node},
		Tolerations:                   []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
		Containers:                    []corev1.Container{{Name: "app", Image: "fake/app:1", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}},
		TerminationGracePeriodSeconds: &zero,
	}
}

// PausePodSpec runs the pause image on the real node, answering HTTP on
// port (0: not at all), ready once it does.
func PausePodSpec(port int32) corev1.PodSpec {
	one := int64(1)
	c := corev1.Container{Name: "pause", Image: PauseImage, ImagePullPolicy: corev1.PullNever}
	if port > 0 {
		c.Args = []string{"-listen", fmt.Sprintf(":%d", port)}
		c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
		c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intOrString(port)}}, PeriodSeconds: 1}
	}
	return corev1.PodSpec{Containers: []corev1.Container{c}, TerminationGracePeriodSeconds: &one}
}

// Deployment makes a Deployment of n pods with labels app: name and spec,
// and waits until n of them are Ready.
func Deployment(t testing.TB, cs kubernetes.Interface, ns, name string, n int32, spec corev1.PodSpec) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec}},
	}
	d, err := cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create deployment %s/%s: %v", ns, name, err)
	}
	WaitReady(t, cs, ns, "app="+name, int(n))
	return d
}

// WaitReady waits up to two minutes until exactly n pods of ns that
// selector matches are Ready and none is terminating.
func WaitReady(t testing.TB, cs kubernetes.Interface, ns, selector string, n int) {
	t.Helper()
	Eventually(t, fmt.Sprintf("%d pods %s of %s ready", n, selector, ns), 2*time.Minute, func() bool {
		return ReadyPods(t, cs, ns, selector) == n
	})
}

// ReadyPods counts the Ready pods of ns that selector matches; -1 while
// one of them is terminating.
func ReadyPods(t testing.TB, cs kubernetes.Interface, ns, selector string) int {
	t.Helper()
	l, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatalf("list pods %s of %s: %v", selector, ns, err)
	}
	n := 0
	for _, p := range l.Items {
		if p.DeletionTimestamp != nil {
			return -1
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				n++
			}
		}
	}
	return n
}

// Eventually polls cond every 200 ms until it holds, failing the test
// after timeout.
func Eventually(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func intOrString(port int32) intstr.IntOrString { return intstr.FromInt32(port) }
