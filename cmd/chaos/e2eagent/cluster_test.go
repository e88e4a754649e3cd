//go:build linux

package e2eagent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/kubee2e"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

var metav1GetOptions = metav1.GetOptions{}

// cluster is the test cluster as one test sees it (kubee2e.Cluster), with
// the agent's tests' helpers.
type cluster struct{ *kubee2e.Cluster }

// newCluster finds the test cluster (skipping without one, failing under
// CHAOS_REQUIRE_DOCKER), needs root (the tests look into the node), makes
// sure the agent is installed, and makes a fresh namespace (deleted with
// everything in it when the test ends; before that, t.Cleanup recovers what
// a failed test left behind).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	src := kubetest.Kubeconfig(t)
	if os.Geteuid() != 0 {
		if os.Getenv("CHAOS_REQUIRE_DOCKER") != "" {
			t.Fatal("the agent's end-to-end tests need root (they load images into the node and look into pods' namespaces from it)")
		}
		t.Skip("the agent's end-to-end tests need root")
	}
	if testing.Short() && os.Getenv("CHAOS_REQUIRE_DOCKER") == "" {
		t.Skip("the agent's end-to-end tests take a few minutes")
	}
	agentInstalled(t)
	return &cluster{kubee2e.New(t, src, &chaosBin, "chaos-e2e-agent")}
}

// with is c as subtest t sees it: helpers that fail, fail t.
func (c *cluster) with(t *testing.T) *cluster { return &cluster{c.With(t)} }

// experiment runs a bundled experiment (kubee2e.Cluster.Experiment).
func (c *cluster) experiment(name string) (int, string, string) {
	c.T.Helper()
	return c.Experiment(filepath.Join(expDir, name+".yaml"))
}

// script runs one of the example scripts (the documented commands) in the
// test namespace.
func (c *cluster) script(timeout time.Duration, path string, args ...string) string {
	c.T.Helper()
	start := time.Now()
	out, err := run(timeout, append([]string{"NAMESPACE=" + c.NS}, c.Env...), filepath.Join(kubeDir, path), args...)
	require.NoError(c.T, err, "%s %v:\n%s", path, args, out)
	c.T.Logf("%s %v: %.1fs\n%s", path, args, time.Since(start).Seconds(), out)
	return out
}

// kubectl runs kubectl in the test namespace.
func (c *cluster) kubectl(args ...string) string {
	c.T.Helper()
	out, err := run(2*time.Minute, c.Env, "kubectl", args...)
	require.NoError(c.T, err, "kubectl %v:\n%s", args, out)
	return out
}

// stack deploys the example stack with a gateway variant ("" = the full
// gateway) into the test namespace.
func (c *cluster) stack(variant string) {
	c.T.Helper()
	stackImages(c.T)
	c.script(4*time.Minute, "stack.sh", "variant", variant)
}

// pod is a pod of the test namespace.
func (c *cluster) pod(name string) *corev1.Pod {
	c.T.Helper()
	p, err := c.CS.CoreV1().Pods(c.NS).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(c.T, err)
	return p
}

// podOf is the one pod of app name (label app: name), once it runs.
func (c *cluster) podOf(app string) *corev1.Pod {
	c.T.Helper()
	var pod *corev1.Pod
	kubetest.Eventually(c.T, "the pod of "+app, time.Minute, func() bool {
		l, err := c.CS.CoreV1().Pods(c.NS).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		require.NoError(c.T, err)
		for i, p := range l.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				pod = &l.Items[i]
				return true
			}
		}
		return false
	})
	return pod
}

// waitStackReady waits until every pod of the stack is Ready again.
func (c *cluster) waitStackReady() {
	c.T.Helper()
	for app, n := range map[string]int{"model-primary": 2, "model-fallback": 1, "gateway": 1} {
		kubetest.WaitReady(c.T, c.CS, c.NS, "app.kubernetes.io/name="+app, n)
	}
}

// journalsLeft lists the run journals left in the test's state folder.
func (c *cluster) journalsLeft() []string {
	left, _ := filepath.Glob(filepath.Join(c.State, "journal", "*.jsonl"))
	return left
}
