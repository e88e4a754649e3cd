package e2ekube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// kubeDir is examples/kubernetes, from this package's folder.
const kubeDir = "../../../examples/kubernetes"

// experiment is the path of a bundled Kubernetes experiment.
func experiment(name string) string {
	return filepath.Join("../../../examples/experiments/kubernetes", name+".yaml")
}

// cluster is the test cluster as one test sees it: a namespace of its own,
// and a kubeconfig whose context names that namespace, so kubectl,
// stack.sh and chaos (whose experiments name no namespace) all act there,
// as a user's would after `kubectl config set-context --current
// --namespace NS`.
type cluster struct {
	t          *testing.T
	cs         kubernetes.Interface
	ns         string
	kubeconfig string
	state      string // the runs' state folder
	env        []string
}

// newCluster makes a fresh namespace (kubetest.Namespace: deleted, with
// everything in it, when the test ends); before that, t.Cleanup recovers
// what a failed test left behind.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	src := kubetest.Kubeconfig(t)
	if testing.Short() && os.Getenv("CHAOS_REQUIRE_DOCKER") == "" {
		t.Skip("the Kubernetes end-to-end tests take a few minutes")
	}
	c := &cluster{t: t, cs: kubetest.Client(t), state: t.TempDir()}
	c.ns = kubetest.Namespace(t, c.cs, "chaos-e2e")
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

// untilJudged runs the CLI and runs it again, up to three times, while it
// exits 5 (chaos itself was starved: nothing judged).
func (c *cluster) untilJudged(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return clitest.UntilJudged(t, func() (int, string, string) { return c.chaos(args...) })
}

// experiment runs a bundled experiment (until judged) and logs its verdict,
// the checks that failed and how long it took.
func (c *cluster) experiment(t *testing.T, name string) (int, string, string) {
	t.Helper()
	start := time.Now()
	code, out, stderr := c.untilJudged(t, "run", experiment(name), "-q", "--seed", "5", "--state-dir", c.state)
	var verdict []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "(exit ") || strings.HasPrefix(strings.TrimSpace(l), "✗") {
			verdict = append(verdict, strings.TrimSpace(l))
		}
	}
	t.Logf("%s: exit %d in %.1fs: %s", name, code, time.Since(start).Seconds(), strings.Join(verdict, "; "))
	return code, out, stderr
}

// stackSh runs examples/kubernetes/stack.sh (the documented command) in the
// test namespace.
func (c *cluster) stackSh(args ...string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, err := filepath.Abs(kubeDir)
	require.NoError(c.t, err)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "stack.sh"), args...)
	cmd.Env = append(os.Environ(), c.env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(c.t, err, "stack.sh %v:\n%s", args, out)
	c.t.Logf("stack.sh %v: %.1fs\n%s", args, time.Since(start).Seconds(), out)
}

// okServer serves 200 to anything on loopback, for runs whose load only
// needs something that answers.
func okServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
