package e2ekube

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// TestKubernetes deploys the example stack (examples/kubernetes/stack.sh)
// into a namespace of its own and runs, in order: the bundled Kubernetes
// experiments against the full gateway (exit 0); a dry run of the drain
// experiment; kill -9 of a run while it holds the primaries scaled to 0,
// then `chaos recover`; the experiments against the no-ejection,
// no-breaker and no-fallback gateways (exit 1). One stack serves them all:
// deploying one is a fair share of the time.
func TestKubernetes(t *testing.T) {
	c := newCluster(t)
	t.Parallel()
	c.stackSh("up")

	t.Run("full gateway holds", func(t *testing.T) {
		c := c.with(t)
		for _, e := range []string{"delete-primary", "scale-primaries-to-zero"} {
			code, out, stderr := c.Experiment(experiment(e))
			if !assert.Equal(t, 0, code, "%s\nstdout:\n%s\nstderr:\n%s", e, out, stderr) {
				c.waitStackReady()
			}
		}
	})

	t.Run("drain experiment plans the node of a primary", func(t *testing.T) {
		// One real node here: the stack would have nowhere to go, so the
		// bundled drain experiment is only planned (TestKilledDrainOnKwokNodes
		// drains); its target must be the node model-primary-0 runs on.
		c := c.with(t)
		pod, err := c.CS.CoreV1().Pods(c.NS).Get(context.Background(), "model-primary-0", metav1.GetOptions{})
		require.NoError(t, err)
		code, out, stderr := c.Chaos("run", experiment("drain-primary-node"), "--dry-run")
		require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		assert.Contains(t, out, "node-drain on pod model-primary-0")
		assert.Contains(t, out, "model-primary-0, pod of statefulset/model-primary in "+c.NS+", node "+pod.Spec.NodeName+",")
		assert.False(t, c.node(pod.Spec.NodeName).Spec.Unschedulable, "a dry run changes nothing")
	})

	t.Run("kill -9 mid-scale then recover", func(t *testing.T) {
		killedScaleIsRecovered(t, c.with(t))
	})

	// The crippled gateways come last, each with the experiments that must
	// catch what it lacks: the check named fails on its own numbers (the
	// steady state held and the fault was on).
	for _, v := range []struct{ variant, experiment, check string }{
		{"no-ejection", "delete-primary", "replica ejected"},
		{"no-ejection", "scale-primaries-to-zero", "both replicas ejected"},
		{"no-breaker", "scale-primaries-to-zero", "breaker opens"},
		{"no-fallback", "scale-primaries-to-zero", "fallback answers"},
	} {
		t.Run(v.variant+" gateway fails "+v.experiment, func(t *testing.T) {
			c := c.with(t)
			c.waitStackReady()
			c.stackSh("variant", v.variant)
			code, out, stderr := c.Experiment(experiment(v.experiment))
			assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			assert.NotContains(t, out, "✗ steady state", "the stack was healthy before the fault")
			assert.Regexp(t, `(?m)^\s*✗ `+v.check+`: (max of|breaker never opened|degraded 0%)`, out)
		})
	}

	left, _ := filepath.Glob(filepath.Join(c.State, "journal", "*.jsonl"))
	assert.Empty(t, left, "every run rolled back everything")
}

// killedScaleIsRecovered scales the primaries to 0 in a run, kills that run
// with SIGKILL while the fault is on, and checks that the primaries stay at
// 0 (nothing undid it) until `chaos recover` puts both back.
func killedScaleIsRecovered(t *testing.T, c *cluster) {
	file := filepath.Join(t.TempDir(), "long-scale.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: long-scale
stack: {kubernetes: {}}
load: {url: "${gateway}/healthz", method: GET, rate: 5/s}
faults:
  - {name: no-primaries, kind: scale, target: {statefulset: model-primary}, params: {replicas: 0}, for: 120s}
`), 0o644))
	cmd, _, errb := chaosCmd(t, c.Env, "run", file, "--state-dir", c.State, "--seed", "2")
	require.NoError(t, cmd.Start())
	kubetest.Eventually(t, "the primaries scaled to 0", time.Minute, func() bool {
		return c.replicas("model-primary") == 0 && len(c.readyPods("model-primary")) == 0
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Equal(t, int32(0), c.replicas("model-primary"), "kill -9 leaves the primaries at 0\n%s", errb)
	require.NotEmpty(t, marks(c.statefulset("model-primary").Annotations), "… with the run's mark on the StatefulSet")

	code, out, stderr := c.Chaos("recover", "--state-dir", c.State)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "undid no-primaries on statefulset "+c.NS+"/model-primary")
	assert.Equal(t, int32(2), c.replicas("model-primary"), "recover scaled the primaries back")
	assert.Empty(t, marks(c.statefulset("model-primary").Annotations), "… and removed the mark")
	c.waitStackReady()

	code, out, _ = c.Chaos("recover", "--state-dir", c.State)
	assert.Equal(t, 0, code, "recover twice is harmless")
	assert.Contains(t, out, "nothing left to undo (0 undone")
}

// statefulset is a StatefulSet of the test namespace.
func (c *cluster) statefulset(name string) *appsv1.StatefulSet {
	c.T.Helper()
	s, err := c.CS.AppsV1().StatefulSets(c.NS).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(c.T, err)
	return s
}

// replicas is the replica count a StatefulSet asks for.
func (c *cluster) replicas(name string) int32 {
	c.T.Helper()
	s := c.statefulset(name)
	if s.Spec.Replicas == nil {
		return 1
	}
	return *s.Spec.Replicas
}

// readyPods lists the Ready, not terminating pods of app name.
func (c *cluster) readyPods(name string) []string {
	c.T.Helper()
	ps, err := c.CS.CoreV1().Pods(c.NS).List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=" + name})
	require.NoError(c.T, err)
	var out []string
	for _, p := range ps.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				out = append(out, p.Name)
			}
		}
	}
	return out
}

// waitStackReady waits until every pod of the stack is Ready: two
// primaries, the fallback and one gateway.
func (c *cluster) waitStackReady() {
	c.T.Helper()
	kubetest.Eventually(c.T, "the stack's pods ready", time.Minute, func() bool {
		return len(c.readyPods("model-primary")) == 2 && len(c.readyPods("model-fallback")) == 1 &&
			len(c.readyPods("gateway")) == 1
	})
}

// TestKilledDrainOnKwokNodes drains a kwok fake node in a run, kills that
// run with SIGKILL mid-drain, and checks that the node stays cordoned (and
// its evicted pods' replacements Pending) until `chaos recover
// --kubernetes`, with none of the run's journals, from the mark on the node
// alone, makes it schedulable again. The test cluster has one real node,
// the one the stack runs on; draining it would take the stack with it, so
// drain is exercised here, on a node that runs no container.
func TestKilledDrainOnKwokNodes(t *testing.T) {
	c := newCluster(t)
	t.Parallel()
	node := c.fakeApp("fake-app", 3)

	file := filepath.Join(t.TempDir(), "long-drain.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: long-drain
stack: {kubernetes: {}}
load: {url: "`+okServer(t)+`", method: GET, rate: 5/s}
faults:
  - {name: drained, kind: node-drain, target: {node: `+node+`}, for: 120s}
`), 0o644))
	runState := t.TempDir()
	cmd, _, errb := chaosCmd(t, c.Env, "run", file, "--state-dir", runState, "--seed", "2")
	require.NoError(t, cmd.Start())
	run := clitest.RunID(t, errb)
	kubetest.Eventually(t, "node "+node+" cordoned and drained", time.Minute, func() bool {
		return c.node(node).Spec.Unschedulable && len(c.runningPods("fake-app", "")) == 0
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	n := c.node(node)
	require.True(t, n.Spec.Unschedulable, "kill -9 leaves the node cordoned\n%s", errb)
	require.NotEmpty(t, marks(n.Annotations), "… with the run's mark on it")
	assert.Empty(t, c.runningPods("fake-app", ""), "… and the evicted pods' replacements Pending")

	// Another machine, as it were: no journal of the run, only the mark.
	code, out, stderr := c.Chaos("recover", "--kubernetes", "--run", run, "--state-dir", t.TempDir())
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "undid ")
	n = c.node(node)
	assert.False(t, n.Spec.Unschedulable, "recover --kubernetes uncordoned the node")
	assert.Empty(t, marks(n.Annotations), "… and removed the mark")
	kubetest.Eventually(t, "the evicted pods' replacements running", time.Minute, func() bool {
		return len(c.runningPods("fake-app", node)) == 3
	})

	// The killed run's own journal: what it holds is undone already.
	code, out, stderr = c.Chaos("recover", "--state-dir", runState)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	left, _ := filepath.Glob(filepath.Join(runState, "journal", "*.jsonl"))
	assert.Empty(t, left, "recover cleared the killed run's journal")
}

// marks are the chaos.sre/ annotations among annotations: what a
// Kubernetes fault writes on the object it changes.
func marks(annotations map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range annotations {
		if strings.HasPrefix(k, "chaos.sre/") {
			out[k] = v
		}
	}
	return out
}
