package e2ekube

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/kubee2e"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// kubeDir is examples/kubernetes, from this package's folder.
const kubeDir = "../../../examples/kubernetes"

// experiment is the path of a bundled Kubernetes experiment.
func experiment(name string) string {
	return filepath.Join("../../../examples/experiments/kubernetes", name+".yaml")
}

// cluster is the test cluster as one test sees it (kubee2e.Cluster).
type cluster struct{ *kubee2e.Cluster }

// newCluster makes a fresh namespace (kubee2e.New: deleted, with everything
// in it, when the test ends; before that, t.Cleanup recovers what a failed
// test left behind).
func newCluster(t *testing.T) *cluster {
	t.Helper()
	src := kubetest.Kubeconfig(t)
	if testing.Short() && os.Getenv("CHAOS_REQUIRE_DOCKER") == "" {
		t.Skip("the Kubernetes end-to-end tests take a few minutes")
	}
	return &cluster{kubee2e.New(t, src, &chaosBin, "chaos-e2e")}
}

// with is c as subtest t sees it: helpers that fail, fail t.
func (c *cluster) with(t *testing.T) *cluster { return &cluster{c.With(t)} }

// stackSh runs examples/kubernetes/stack.sh (the documented command) in the
// test namespace.
func (c *cluster) stackSh(args ...string) {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir, err := filepath.Abs(kubeDir)
	require.NoError(c.T, err)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "stack.sh"), args...)
	cmd.Env = append(os.Environ(), c.Env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(c.T, err, "stack.sh %v:\n%s", args, out)
	c.T.Logf("stack.sh %v: %.1fs\n%s", args, time.Since(start).Seconds(), out)
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
