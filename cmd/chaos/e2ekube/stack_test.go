package e2ekube

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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

// newCluster makes a fresh namespace; t.Cleanup recovers what a failed test
// left behind and deletes the namespace.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	src := kubetest.Kubeconfig(t)
	if testing.Short() && os.Getenv("CHAOS_REQUIRE_DOCKER") == "" {
		t.Skip("the Kubernetes end-to-end tests take a few minutes")
	}
	c := &cluster{t: t, cs: kubetest.Client(t), state: t.TempDir(),
		ns: fmt.Sprintf("chaos-e2e-%d-%04x", os.Getpid(), rand.IntN(1<<16))}
	cfg, err := clientcmd.LoadFromFile(src) // paths made absolute
	require.NoError(t, err)
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	require.True(t, ok, "%s: no current context", src)
	ctx.Namespace = c.ns
	c.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, c.kubeconfig))
	c.env = []string{"KUBECONFIG=" + c.kubeconfig}

	_, err = c.cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: c.ns, Labels: map[string]string{"app.kubernetes.io/managed-by": "chaos-e2ekube"}}}, metav1.CreateOptions{})
	require.NoError(t, err, "create namespace %s", c.ns)
	t.Cleanup(c.down)
	return c
}

// down undoes whatever a failed test left behind (chaos recover), then
// deletes the namespace and waits until it is gone.
func (c *cluster) down() {
	if code, out, stderr := c.chaos("recover", "--state-dir", c.state); code != 0 {
		c.t.Errorf("chaos recover before deleting namespace %s: exit %d\n%s%s", c.ns, code, out, stderr)
	}
	ctx := context.Background()
	err := c.cs.CoreV1().Namespaces().Delete(ctx, c.ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		c.t.Errorf("delete namespace %s: %v", c.ns, err)
		return
	}
	waitUntil(c.t, "namespace "+c.ns+" deleted", 2*time.Minute, func() bool {
		_, err := c.cs.CoreV1().Namespaces().Get(ctx, c.ns, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
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

// waitUntil polls cond every 100 ms and fails the test after limit.
func waitUntil(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
