package run

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
	"github.com/chaos-sre/chaos/verify/report"
)

// These tests run the engine against the real test cluster: a namespace of
// each test's own, pods on a kwok node (no image) or on the real node (the
// pause image answering HTTP behind a Service).

func service(t *testing.T, ns string, s *corev1.Service) *corev1.Service {
	t.Helper()
	s, err := kubetest.Client(t).CoreV1().Services(ns).Create(context.Background(), s, metav1.CreateOptions{})
	require.NoError(t, err)
	return s
}

// TestKubeStackPrepare: stack.kubernetes gives the Kubernetes resolver, a
// line naming the cluster, and ${service} / ${service.port-name} for each
// Service with a cluster IP (not a headless one); stack.vars win.
func TestKubeStackPrepare(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-run-vars")
	gw := service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "gateway"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "gateway"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}, {Name: "metrics", Port: 9090}}}})
	service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "peers"}, Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: map[string]string{"app": "x"}, Ports: []corev1.ServicePort{{Port: 80}}}})
	db := service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 5432}}}})

	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: vars
stack:
  kubernetes: {kubeconfig: %q, namespace: %s}
  vars: {db: "http://mine:1"}
load: {url: "${gateway}/", method: GET, rate: 5/s}
`, kc, ns))
	w, err := prepare(context.Background(), exp, "test", Options{})
	require.NoError(t, err)
	ip := func(s *corev1.Service, port string) string {
		return "http://" + net.JoinHostPort(s.Spec.ClusterIP, port)
	}
	assert.Equal(t, ip(gw, "80"), w.vars["gateway"], "the first port")
	assert.Equal(t, ip(gw, "80"), w.vars["gateway.http"])
	assert.Equal(t, ip(gw, "9090"), w.vars["gateway.metrics"])
	assert.NotContains(t, w.vars, "peers", "a headless service has no address of its own")
	assert.Equal(t, "http://mine:1", w.vars["db"], "stack.vars win")
	assert.NotEqual(t, ip(db, "5432"), w.vars["db"])
	require.Len(t, w.started, 1)
	assert.Regexp(t, `^Kubernetes cluster \S+ at https://\S+:\d+, namespace `+ns+`$`, w.started[0])
	k, ok := w.resolver.(*targets.Kubernetes)
	require.True(t, ok, "%T", w.resolver)
	assert.Equal(t, ns, k.Namespace)
	assert.Same(t, k, w.kube)

	missing := parse(t, fmt.Sprintf(`version: chaos/v1
name: vars
stack: {kubernetes: {kubeconfig: %q, namespace: chaos-no-such-ns}}
load: {url: "http://x/", method: GET, rate: 5/s}
`, kc))
	_, err = prepare(context.Background(), missing, "test", Options{})
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	assert.Equal(t, ExitTool, xe.Code)
	assert.Contains(t, err.Error(), `namespace "chaos-no-such-ns" does not exist at the Kubernetes API at https://`)
}

// TestKubeDryRun: the plan names the cluster, expands ${service}, and under
// each fault lists the pods (with workload, node, address) or node it
// resolves to now, and under a pods check the pods it would judge.
func TestKubeDryRun(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-run-dry")
	node := kubetest.FakeNode(t, cs)
	kubetest.Deployment(t, cs, ns, "model", 2, kubetest.FakePodSpec(node))
	gw := service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "gateway"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "model"}, Ports: []corev1.ServicePort{{Port: 80}}}})
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: dry
stack: {kubernetes: {kubeconfig: %q, namespace: %s}}
load: {url: "${gateway}/v1", method: GET, rate: 5/s}
faults:
  - {name: one-pod, kind: pod-delete, target: {deployment: model, pick: one}, for: 5s}
  - {name: node-off, kind: cordon, target: {node: %s}, for: 5s}
  - {name: typo, kind: pod-delete, target: {deployment: modle}, for: 5s}
checks:
  - {name: whole again, kind: pods, during: recovery, target: {deployment: model}, ready: 2, within: 30s}
`, kc, ns, node))
	var out bytes.Buffer
	rep, err := Run(context.Background(), exp, Options{Seed: 1, DryRun: true, StateDir: t.TempDir(), Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, ExitHeld, rep.ExitCode)
	got := out.String()
	t.Log(got)
	assert.Regexp(t, `stack: Kubernetes cluster \S+ at https://\S+:\d+, namespace `+ns, got)
	assert.Contains(t, got, "load: GET http://"+net.JoinHostPort(gw.Spec.ClusterIP, "80")+"/v1 at 5/s")
	assert.Contains(t, got, "one-pod: pod-delete on deployment model (pick one)")
	pod := regexp.MustCompile(`(?m)^      → model-[a-z0-9]+-[a-z0-9]+, pod of deployment/model in ` + ns + `, node ` + node + `, at [0-9.]+:8080$`)
	assert.Len(t, pod.FindAllString(got, -1), 2, "both pods, with workload, node and address")
	assert.Contains(t, got, "      pick one of these 2 at run time")
	assert.Contains(t, got, "node-off: cordon on node "+node)
	assert.Contains(t, got, "      → node/"+node+"\n")
	assert.Contains(t, got, `      not resolved: target deployment "modle" in namespace "`+ns+`": no such deployment (deployments found in namespace "`+ns+`": model)`)
	assert.Regexp(t, `check whole again \(pods\) during recovery\n      → 2 pods now, 2 ready: model-`, got)
}

// TestKubeRun runs an experiment against a Deployment of the pause image
// (answering HTTP) behind a Service on the real node: load through
// ${web}, one pod deleted. The pods check (whole again within 30s), the
// events check (the kubelet killed the pod's container), an http and an
// slo check through the Service, and recover hold; a pods check asking
// for more pods than there are and an events check that allows no kill
// fail: the run is exit 1, with those two failed.
func TestKubeRun(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-run")
	kubetest.Deployment(t, cs, ns, "web", 2, kubetest.PausePodSpec(8080))
	web := service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}}})
	answers(t, "http://"+net.JoinHostPort(web.Spec.ClusterIP, "80")+"/")
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: pod-deleted
stack: {kubernetes: {kubeconfig: %q, namespace: %s}}
load: {url: "${web}/", method: GET, rate: 20/s, timeout: 2s}
steady_state: {for: 2s, slo: {error_rate: 1%%}}
faults:
  - {name: one-pod, kind: pod-delete, target: {deployment: web, pick: one}, for: 5s}
checks:
  - {name: whole again, kind: pods, during: recovery, target: {deployment: web}, ready: 2, within: 30s, max_restarts: 0}
  - {name: three ready, kind: pods, during: recovery, target: {deployment: web}, ready: 3}
  - {name: a container killed, kind: events, during: one-pod, reason: Killing, object: {kind: Pod, name: web-.*}}
  - {name: no kill, kind: events, during: one-pod, reason: Killing, max: 0}
  - {name: answers, kind: http, during: run, url: "${web.http}/", min_success: 90%%}
  - {name: mostly served, kind: slo, during: one-pod, error_rate: 50%%}
  - {name: recovers, kind: recover, within: 20s, slo: {error_rate: 5%%}}
`, kc, ns))
	var stderr bytes.Buffer
	rep, err := Run(context.Background(), exp, Options{Seed: 7, StateDir: t.TempDir(), Stderr: &stderr})
	t.Log(stderr.String())
	require.NoError(t, err)
	res := map[string]report.CheckReport{}
	for _, c := range rep.Checks {
		res[c.Name] = c
		t.Logf("%-18s %-6v %s | %s | %s", c.Name, c.Held, c.Measured, c.Bound, c.Reason)
	}
	for _, name := range []string{"whole again", "a container killed", "answers", "mostly served", "recovers"} {
		assert.True(t, res[name].Held, "%s: %+v", name, res[name])
	}
	assert.False(t, res["three ready"].Held)
	assert.Equal(t, "2 of 2 pods ready, fewer than 3", res["three ready"].Reason)
	assert.False(t, res["no kill"].Held)
	assert.Regexp(t, `^[1-9][0-9]* matching events in one-pod, more than 0$`, res["no kill"].Reason)
	assert.Regexp(t, `^2 of 2 pods ready after [0-9.]+m?s; no restarts$`, res["whole again"].Measured)
	assert.Equal(t, ExitFailed, rep.ExitCode)
	require.Len(t, rep.Faults, 1)
	require.Len(t, rep.Faults[0].Targets, 1)
	assert.True(t, strings.HasPrefix(rep.Faults[0].Targets[0], "web-"), rep.Faults[0].Targets[0])
}

// answers waits until url has answered 200 twenty times in a row (kube-proxy
// has programmed the Service and both its endpoints), for up to a minute.
func answers(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: time.Second}
	ok := 0
	kubetest.Eventually(t, "20 answers in a row from "+url, time.Minute, func() bool {
		resp, err := c.Get(url)
		if err == nil {
			_ = resp.Body.Close()
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			ok = 0
			return false
		}
		ok++
		return ok >= 20
	})
}
