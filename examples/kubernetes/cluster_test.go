package kubernetes_test

// End-to-end checks of the test cluster that cluster.sh starts: the things
// the Kubernetes targets' tests rely on. They use the cluster and leave it
// as they found it; they never start or stop it (CI runs cluster.sh up
// before the tests and down after them, and compares the host).

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// pauseImage is cluster.sh's own image (examples/kubernetes/pause), already
// in the node's containerd; nothing can be pulled.
const pauseImage = "chaos-k8s/pause:1"

// kwokAnnotation marks the fake nodes kwok manages (cluster.sh starts kwok
// with --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake).
const kwokAnnotation = "kwok.x-k8s.io/node"

// realNode is the name of cluster.sh's one real node (a kubelet).
const realNode = "chaos-k8s-node"

func TestClusterRealNodeReady(t *testing.T) {
	cs := kubetest.Client(t)
	n, err := cs.CoreV1().Nodes().Get(context.Background(), realNode, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !nodeReady(n) {
		t.Errorf("node %s is not Ready: %v", n.Name, n.Status.Conditions)
	}
	if len(n.Spec.Taints) > 0 {
		t.Errorf("node %s has taints %v; pods would not schedule there", n.Name, n.Spec.Taints)
	}
	if got := n.Status.NodeInfo.KubeletVersion; got != "v1.37.2" {
		t.Errorf("node %s runs kubelet %q, want v1.37.2", n.Name, got)
	}
}

// A Service's ClusterIP answers from the host and from a pod (kube-proxy in
// nftables mode), and an HTTP readiness probe passes (kubelet to pod).
func TestClusterServiceFromHostAndPod(t *testing.T) {
	cs := kubetest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ns := namespace(ctx, t, cs)

	labels := map[string]string{"app": "backend"}
	backend := pod("backend", corev1.RestartPolicyAlways, "-listen", ":8080")
	backend.Labels = labels
	backend.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	backend.Spec.Containers[0].ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)}},
		PeriodSeconds: 1,
	}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, backend, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := cs.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "backend"},
		Spec: corev1.ServiceSpec{
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitPod(ctx, t, cs, ns, "backend", podReady)
	url := "http://" + svc.Spec.ClusterIP + "/"

	// from the host: kube-proxy's rules may need a moment after the pod is Ready
	var body string
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		body, err = httpGet(ctx, url)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("GET %s from the host: %v (last: %q)", url, err, body)
	}
	if want := "pause backend\n"; body != want {
		t.Errorf("GET %s from the host = %q, want %q", url, body, want)
	}

	// from a pod: the client exits 0 once it got a 200
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, pod("client", corev1.RestartPolicyNever, "-get", url, "-wait", "60s"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(ctx, t, cs, ns, "client", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed
	})
	if p.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("GET %s from a pod: pod %s %v", url, p.Status.Phase, p.Status.ContainerStatuses)
	}

	// the client printed the body: its log comes from the kubelet through
	// the API (kubectl logs)
	log, err := cs.CoreV1().Pods(ns).GetLogs("client", &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of the client pod: %v", err)
	}
	if want := "pause backend\n"; string(log) != want {
		t.Errorf("logs of the client pod = %q, want %q", log, want)
	}
}

// kwok runs the pods of a fake node that carries its annotation; the
// node's taint keeps pods without the toleration off it.
func TestClusterKwokFakeNode(t *testing.T) {
	cs := kubetest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := namespace(ctx, t, cs)

	name := fmt.Sprintf("chaos-k8s-test-fake-%06d", rand.IntN(1e6))
	taint := corev1.Taint{Key: kwokAnnotation, Value: "fake", Effect: corev1.TaintEffectNoSchedule}
	_, err := cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{kwokAnnotation: "fake"},
			Labels:      map[string]string{"chaos-k8s-test": name},
		},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{taint}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cs.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("deleting fake node %s: %v", name, err)
		}
	})
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		n, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		return err == nil && nodeReady(n), nil
	})
	if err != nil {
		t.Fatalf("fake node %s not Ready: %v", name, err)
	}

	fake := pod("on-fake", corev1.RestartPolicyAlways)
	// a label of this node's own: other tests' fake nodes may be there too
	fake.Spec.NodeSelector = map[string]string{"chaos-k8s-test": name}
	fake.Spec.Tolerations = []corev1.Toleration{{Key: taint.Key, Operator: corev1.TolerationOpEqual, Value: taint.Value, Effect: taint.Effect}}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, fake, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p := waitPod(ctx, t, cs, ns, "on-fake", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	if p.Spec.NodeName != name {
		t.Errorf("pod on-fake runs on %s, want the fake node %s", p.Spec.NodeName, name)
	}
	// deleting a pod on a fake node completes (kwok plays the kubelet's part)
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "on-fake", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().Pods(ns).Get(ctx, "on-fake", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Errorf("pod on-fake not gone after delete: %v", err)
	}
}

// namespace creates a namespace for one test and deletes it after.
func namespace(ctx context.Context, t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	name := fmt.Sprintf("chaos-k8s-test-%06d", rand.IntN(1e6))
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("deleting namespace %s: %v", name, err)
		}
	})
	return name
}

// pod is a pod of the pause image with args, never pulled.
func pod(name string, restart corev1.RestartPolicy, args ...string) *corev1.Pod {
	grace := int64(1)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{
			RestartPolicy:                 restart,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name:            "pause",
				Image:           pauseImage,
				ImagePullPolicy: corev1.PullNever,
				Args:            args,
			}},
		},
	}
}

// waitPod polls pod ns/name until done says so, and returns it.
func waitPod(ctx context.Context, t *testing.T, cs kubernetes.Interface, ns, name string, done func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var p *corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		p = got
		return done(p), nil
	})
	if err != nil {
		if p != nil {
			t.Fatalf("pod %s/%s: %v; phase %s, conditions %v, containers %v", ns, name, err, p.Status.Phase, p.Status.Conditions, p.Status.ContainerStatuses)
		}
		t.Fatalf("pod %s/%s: %v", ns, name, err)
	}
	return p
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// direct is an HTTP client that never goes through a proxy from the
// environment: ClusterIPs are reached through the host's own rules.
var direct = &http.Client{Transport: &http.Transport{Proxy: nil}}

func httpGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := direct.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return strings.TrimSpace(string(b)), fmt.Errorf("status %s", resp.Status)
	}
	return string(b), nil
}
