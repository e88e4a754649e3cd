package run

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/targets"
)

// writeKubeconfig writes a kubeconfig with one context per name, each
// reaching server.
func writeKubeconfig(t *testing.T, server string, contexts ...string) string {
	t.Helper()
	s := "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: \"" + server + "\", insecure-skip-tls-verify: true}\nusers:\n- name: u\n  user: {token: x}\ncontexts:\n"
	for _, c := range contexts {
		s += "- name: " + c + "\n  context: {cluster: c, user: u}\n"
	}
	if len(contexts) > 0 {
		s += "current-context: " + contexts[0] + "\n"
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(path, []byte(s), 0o600))
	return path
}

func kubeExperiment(kubeconfig, extra string) string {
	return `version: chaos/v1
name: kube-preflight
stack:
  kubernetes: {kubeconfig: "` + kubeconfig + `"` + extra + `}
load: {url: "${gateway}/", method: GET, rate: 5/s}
faults:
  - {name: gone, kind: pod-delete, target: {deployment: model}, for: 2s}
`
}

// TestKubePreflight: a kubeconfig or context the experiment names that is
// not there is an invalid experiment (exit 2), a cluster that does not
// answer is the environment (exit 4); each one line that says what to do.
// No cluster is needed.
func TestKubePreflight(t *testing.T) {
	dead := writeKubeconfig(t, "https://127.0.0.1:1", "test", "other")
	empty := writeKubeconfig(t, "https://127.0.0.1:1")
	tests := []struct {
		name string
		yaml string
		code int
		want string
	}{
		{"no such kubeconfig", kubeExperiment(filepath.Join(t.TempDir(), "nope"), ""), ExitInvalid, "stack.kubernetes.kubeconfig: stat "},
		{"no such context", kubeExperiment(dead, ", context: prod"), ExitInvalid, `stack.kubernetes.context: no context "prod" in ` + dead + " (valid: other, test)"},
		{"no contexts at all", kubeExperiment(empty, ""), ExitTool, "has no contexts"},
		{"the API does not answer", kubeExperiment(dead, ""), ExitTool, "Kubernetes API at https://127.0.0.1:1 (context test) does not answer: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), parse(t, tc.yaml), Options{Seed: 1, StateDir: t.TempDir()})
			require.Error(t, err)
			assert.Equal(t, tc.code, rep.ExitCode, "%v", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestKubeconfigPath(t *testing.T) {
	home, err := os.UserHomeDir()
	require.NoError(t, err)
	assert.Empty(t, kubeconfigPath("", "/x/exp.yaml"), "kubectl's default")
	assert.Equal(t, "/x/k8s/config", kubeconfigPath("k8s/config", "/x/exp.yaml"), "relative to the experiment")
	assert.Equal(t, "/etc/k8s", kubeconfigPath("/etc/k8s", "/x/exp.yaml"))
	assert.Equal(t, filepath.Join(home, ".kube/config"), kubeconfigPath("~/.kube/config", "/x/exp.yaml"))
}

func TestDescribeKubeTarget(t *testing.T) {
	assert.Equal(t, "deployment model in namespace inf", describeTarget(targets.Spec{Deployment: "model", Namespace: "inf"}))
	assert.Equal(t, "statefulset db", describeTarget(targets.Spec{StatefulSet: "db"}))
	assert.Equal(t, "pod p", describeTarget(targets.Spec{Pod: "p"}))
	assert.Equal(t, "node n1", describeTarget(targets.Spec{Node: "n1"}))
	assert.Equal(t, "every pod of namespace inf", describeTarget(targets.Spec{Namespace: "inf"}))
	assert.Equal(t, "labels a=b,c=d in namespace inf", describeTarget(targets.Spec{Labels: map[string]string{"c": "d", "a": "b"}, Namespace: "inf"}))
	assert.Equal(t, "service gateway in namespace inf", describeTarget(targets.Spec{Service: "gateway", Namespace: "inf"}))
	assert.Equal(t, "service gateway", describeTarget(targets.Spec{Service: "gateway"}))

	assert.Equal(t, "model-1, pod of deployment/model in inf, node n1, at 10.0.0.1:80",
		describeResolved(targets.Target{Name: "model-1", Addr: "10.0.0.1:80", Kube: &targets.Kube{Namespace: "inf", Pod: "model-1", OwnerKind: "Deployment", Owner: "model", Node: "n1"}}))
	assert.Equal(t, "lonely, pod in inf, not scheduled on a node yet",
		describeResolved(targets.Target{Name: "lonely", Kube: &targets.Kube{Namespace: "inf", Pod: "lonely"}}))
	assert.Equal(t, "deployment/empty, no pod now: the deployment itself, in inf",
		describeResolved(targets.Target{Name: "deployment/empty", Kube: &targets.Kube{Namespace: "inf", OwnerKind: "Deployment", Owner: "empty"}}))
	assert.Equal(t, "node/n1", describeResolved(targets.Target{Name: "node/n1", Kube: &targets.Kube{Node: "n1"}}))
}

// TestPodsWithinWaitsOnlyInRecovery: a pods check with within stretches
// (and may end) the recovery only when its window is the recovery or the
// run; on a fault's window it was judged before the rollback.
func TestPodsWithinWaitsOnlyInRecovery(t *testing.T) {
	exp := parse(t, `version: chaos/v1
name: waits
stack: {kubernetes: {}}
load: {url: "http://127.0.0.1:1/", method: GET, rate: 5/s}
faults:
  - {name: gone, kind: pod-delete, target: {deployment: model}, for: 5s}
checks:
  - {name: in the fault, kind: pods, during: gone, target: {deployment: model}, ready: 2, within: 40s}
  - {name: by default in the faults, kind: pods, target: {deployment: model}, ready: 2, within: 40s}
  - {name: served after, kind: slo, during: recovery, error_rate: 1%}
`)
	for _, c := range exp.Checks[:2] {
		_, ok := waiter(c)
		assert.False(t, ok, c.Name)
	}
	assert.Equal(t, 10*time.Second, recoveryMax(exp), "the slo check's recovery, not the pods checks' 42s")

	exp.Checks[0].During = "recovery"
	_, ok := waiter(exp.Checks[0])
	assert.True(t, ok)
	assert.Equal(t, 42*time.Second, recoveryMax(exp), "within and two looks")
}
