// Package kubee2e is the test cluster as one end-to-end test of the chaos
// command line sees it: the Kubernetes end-to-end packages (e2ekube,
// e2eagent) share it, so each test gets its namespace, its kubeconfig and
// its cleanup the same way.
package kubee2e

import (
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

// Cluster is the test cluster as one test sees it: a namespace of its own,
// and a kubeconfig whose context names that namespace, so kubectl, the
// example scripts and chaos (whose experiments name no namespace) all act
// there, as a user's would after `kubectl config set-context --current
// --namespace NS`.
type Cluster struct {
	T          *testing.T
	CS         kubernetes.Interface
	NS         string
	Kubeconfig string   // NS's kubeconfig
	State      string   // the runs' state folder
	Env        []string // KUBECONFIG=Kubeconfig, for the commands the test runs

	bin *clitest.Binary
}

// New makes a fresh namespace named prefix-RANDOM on the test cluster whose
// kubeconfig is src (kubetest.Namespace: deleted, with everything in it,
// when the test ends) and a kubeconfig naming it; before the namespace
// goes, t.Cleanup runs `chaos recover` (bin) on what a failed test left
// behind.
func New(t *testing.T, src string, bin *clitest.Binary, prefix string) *Cluster {
	t.Helper()
	c := &Cluster{T: t, CS: kubetest.Client(t), State: t.TempDir(), bin: bin}
	c.NS = kubetest.Namespace(t, c.CS, prefix)
	cfg, err := clientcmd.LoadFromFile(src) // paths made absolute
	require.NoError(t, err)
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	require.True(t, ok, "%s: no current context", src)
	ctx.Namespace = c.NS
	c.Kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, c.Kubeconfig))
	c.Env = []string{"KUBECONFIG=" + c.Kubeconfig}
	t.Cleanup(func() {
		if code, out, stderr := c.Chaos("recover", "--state-dir", c.State); code != 0 {
			t.Errorf("chaos recover before deleting namespace %s: exit %d\n%s%s", c.NS, code, out, stderr)
		}
	})
	return c
}

// With is c as subtest t sees it: helpers that fail, fail t.
func (c *Cluster) With(t *testing.T) *Cluster {
	cc := *c
	cc.T = t
	return &cc
}

// Chaos runs the CLI against the test namespace.
func (c *Cluster) Chaos(args ...string) (int, string, string) {
	c.T.Helper()
	cmd, out, errb := clitest.Command(c.T, c.bin.Path(c.T), c.Env, args...)
	return clitest.Run(c.T, cmd, out, errb)
}

// Experiment runs the experiment file path (again while chaos itself was
// starved: exit 5) and logs its verdict, the checks that failed and how
// long it took.
func (c *Cluster) Experiment(path string) (int, string, string) {
	c.T.Helper()
	start := time.Now()
	code, out, stderr := clitest.UntilJudged(c.T, func() (int, string, string) {
		return c.Chaos("run", path, "-q", "--seed", "5", "--state-dir", c.State)
	})
	name := strings.TrimSuffix(filepath.Base(path), ".yaml")
	c.T.Logf("%s: exit %d in %.1fs: %s", name, code, time.Since(start).Seconds(), verdict(out))
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
