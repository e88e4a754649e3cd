//go:build linux

package e2eagent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

var metav1GetOptions = metav1.GetOptions{}

// cluster is the test cluster as one test sees it: a namespace of its own,
// and a kubeconfig whose context names that namespace, so kubectl, the
// example scripts and chaos (whose experiments name no namespace) all act
// there, as a user's would after `kubectl config set-context --current
// --namespace NS`.
type cluster struct {
	t          *testing.T
	cs         kubernetes.Interface
	ns         string
	kubeconfig string
	state      string // the runs' state folder
	env        []string
}

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
	c := &cluster{t: t, cs: kubetest.Client(t), state: t.TempDir()}
	c.ns = kubetest.Namespace(t, c.cs, "chaos-e2e-agent")
	cfg, err := clientcmd.LoadFromFile(src) // paths made absolute
	require.NoError(t, err)
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	require.True(t, ok, "%s: no current context", src)
	ctx.Namespace = c.ns
	c.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, c.kubeconfig))
	c.env = []string{"KUBECONFIG=" + c.kubeconfig}
	t.Cleanup(func() {
		if code, out, stderr := c.chaos("recover", "--state-dir", c.state); code != 0 {
			t.Errorf("chaos recover before deleting namespace %s: exit %d\n%s%s", c.ns, code, out, stderr)
		}
	})
	return c
}

// with is c as subtest t sees it: helpers that fail, fail t.
func (c *cluster) with(t *testing.T) *cluster {
	cc := *c
	cc.t = t
	return &cc
}

// chaos runs the CLI against the test namespace.
func (c *cluster) chaos(args ...string) (int, string, string) {
	c.t.Helper()
	cmd, out, errb := chaosCmd(c.t, c.env, args...)
	return clitest.Run(c.t, cmd, out, errb)
}

// experiment runs a bundled experiment (again while chaos itself was
// starved: exit 5) and logs its verdict, the checks that failed and how
// long it took.
func (c *cluster) experiment(name string) (int, string, string) {
	c.t.Helper()
	start := time.Now()
	code, out, stderr := clitest.UntilJudged(c.t, func() (int, string, string) {
		return c.chaos("run", filepath.Join(expDir, name+".yaml"), "-q", "--seed", "5", "--state-dir", c.state)
	})
	c.t.Logf("%s: exit %d in %.1fs: %s", name, code, time.Since(start).Seconds(), verdict(out))
	return code, out, stderr
}

// verdict is the lines of a run's summary that say how it ended and which
// checks failed.
func verdict(out string) string {
	var v []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "(exit ") || strings.HasPrefix(strings.TrimSpace(l), "✗") {
			v = append(v, strings.TrimSpace(l))
		}
	}
	return strings.Join(v, "; ")
}

// script runs one of the example scripts (the documented commands) in the
// test namespace.
func (c *cluster) script(timeout time.Duration, path string, args ...string) string {
	c.t.Helper()
	start := time.Now()
	out, err := run(timeout, append([]string{"NAMESPACE=" + c.ns}, c.env...), filepath.Join(kubeDir, path), args...)
	require.NoError(c.t, err, "%s %v:\n%s", path, args, out)
	c.t.Logf("%s %v: %.1fs\n%s", path, args, time.Since(start).Seconds(), out)
	return out
}

// kubectl runs kubectl in the test namespace.
func (c *cluster) kubectl(args ...string) string {
	c.t.Helper()
	out, err := run(2*time.Minute, c.env, "kubectl", args...)
	require.NoError(c.t, err, "kubectl %v:\n%s", args, out)
	return out
}

// stack deploys the example stack with a gateway variant ("" = the full
// gateway) into the test namespace.
func (c *cluster) stack(variant string) {
	c.t.Helper()
	stackImages(c.t)
	c.script(4*time.Minute, "stack.sh", "variant", variant)
}

// pod is a pod of the test namespace.
func (c *cluster) pod(name string) *corev1.Pod {
	c.t.Helper()
	p, err := c.cs.CoreV1().Pods(c.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(c.t, err)
	return p
}

// podOf is the one pod of app name (label app: name), once it runs.
func (c *cluster) podOf(app string) *corev1.Pod {
	c.t.Helper()
	var pod *corev1.Pod
	kubetest.Eventually(c.t, "the pod of "+app, time.Minute, func() bool {
		l, err := c.cs.CoreV1().Pods(c.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		require.NoError(c.t, err)
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
	c.t.Helper()
	for app, n := range map[string]int{"model-primary": 2, "model-fallback": 1, "gateway": 1} {
		kubetest.WaitReady(c.t, c.cs, c.ns, "app.kubernetes.io/name="+app, n)
	}
}

// journalsLeft lists the run journals left in the test's state folder.
func (c *cluster) journalsLeft() []string {
	left, _ := filepath.Glob(filepath.Join(c.state, "journal", "*.jsonl"))
	return left
}
