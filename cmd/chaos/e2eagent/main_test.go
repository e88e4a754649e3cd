//go:build linux

package e2eagent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// Where the examples are, from this package's folder.
const (
	kubeDir  = "../../../examples/kubernetes"
	expDir   = "../../../examples/experiments/kubernetes"
	repoRoot = "../../.."
)

// Host folders the agent's DaemonSet and the game-day CronJob make on the
// node (hostPath volumes): removed at the end when the tests made them.
const (
	agentStateDir = "/var/lib/chaos-agent"
	historyDir    = "/var/lib/chaos-gameday"
)

// probeImage is the pause program of this checkout (examples/kubernetes/pause,
// with -get URL -every D) as an image of its own: the cluster's sandbox image
// chaos-k8s/pause:1 may be older.
const probeImage = "chaos-e2e/probe:1"

// What the tests build and install once, when a test first needs it.
var (
	// chaosBin is static, as examples/kubernetes/agent/install.sh builds
	// it: the tests run it as a user would, and the agent's image is made
	// of the same file.
	chaosBin = clitest.Binary{Dir: "chaos-e2eagent", Static: true}

	installOnce sync.Once
	installErr  error
	// uninstall is set when the tests installed the agent on a cluster that
	// had none: TestMain removes it again, and the folders it made.
	uninstall   bool
	madeFolders []string

	imagesOnce sync.Once
	imagesErr  error
)

// TestMain removes the built binary, and the agent and the node folders
// when the tests brought them.
func TestMain(m *testing.M) {
	code := m.Run()
	if uninstall {
		if out, err := run(3*time.Minute, []string{"KUBECONFIG=" + adminKubeconfig}, filepath.Join(kubeDir, "agent", "install.sh"), "down"); err != nil {
			fmt.Fprintf(os.Stderr, "e2eagent: install.sh down: %v\n%s", err, out)
			code = 1
		}
	}
	for _, d := range madeFolders {
		if err := os.RemoveAll(d); err != nil {
			fmt.Fprintf(os.Stderr, "e2eagent: %v\n", err)
		}
	}
	chaosBin.Remove()
	os.Exit(code)
}

// adminKubeconfig is the test cluster's kubeconfig, set once by the first
// agentInstalled (every test calls it before anything else).
var adminKubeconfig string

// agentInstalled installs the chaos agent as a user would
// (examples/kubernetes/agent/install.sh up: the image of this checkout,
// loaded into the node, the token Secret, the DaemonSet) once, and waits
// until it is Ready.
func agentInstalled(t *testing.T) {
	t.Helper()
	exe := chaosBin.Path(t)
	installOnce.Do(func() {
		// a test stopped in here leaves the others this error, not a half install
		installErr = errors.New("the agent's install stopped half-way (see the first test that failed)")
		adminKubeconfig = kubetest.Kubeconfig(t)
		cs := kubetest.Client(t)
		_, err := cs.AppsV1().DaemonSets("chaos-system").Get(context.Background(), "chaos-agent", metav1GetOptions)
		fresh := err != nil
		made := missing(agentStateDir, historyDir)
		start := time.Now()
		out, err := run(3*time.Minute, []string{"CHAOS_BIN=" + exe, "KUBECONFIG=" + adminKubeconfig}, filepath.Join(kubeDir, "agent", "install.sh"), "up")
		// what it made is removed at the end even when it failed half-way
		uninstall, madeFolders = fresh, made
		if err != nil {
			installErr = fmt.Errorf("install.sh up: %w\n%s", err, out)
			return
		}
		t.Logf("installed the chaos agent in %.1fs:\n%s", time.Since(start).Seconds(), out)
		installErr = nil
	})
	require.NoError(t, installErr)
}

// stackImages builds the example stack's images and the probe image and
// loads them into the node once (stack.sh build; the namespaces then only
// deploy).
func stackImages(t *testing.T) {
	t.Helper()
	imagesOnce.Do(func() {
		start := time.Now()
		if out, err := run(4*time.Minute, []string{"KUBECONFIG=" + adminKubeconfig}, filepath.Join(kubeDir, "stack.sh"), "build"); err != nil {
			imagesErr = fmt.Errorf("stack.sh build: %w\n%s", err, out)
			return
		}
		dir, err := os.MkdirTemp("", "chaos-e2e-probe")
		if err != nil {
			imagesErr = err
			return
		}
		defer os.RemoveAll(dir)
		root, _ := filepath.Abs(repoRoot)
		steps := []struct {
			dir  string
			argv []string
		}{
			{root, []string{"go", "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "pause"), "./examples/kubernetes/pause"}},
			{dir, []string{"sh", "-c", `printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >Dockerfile`}},
			{dir, []string{"docker", "build", "-q", "-t", probeImage, "."}},
			{root, []string{"examples/kubernetes/cluster.sh", "load-image", probeImage}},
		}
		for _, s := range steps {
			cmd := exec.Command(s.argv[0], s.argv[1:]...)
			cmd.Dir = s.dir
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				imagesErr = fmt.Errorf("%v: %w\n%s", s.argv, err, out)
				return
			}
		}
		t.Logf("built and loaded the stack's and the probe's images in %.1fs", time.Since(start).Seconds())
	})
	require.NoError(t, imagesErr)
}

// missing lists those of dirs that do not exist now.
func missing(dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		if _, err := os.Stat(d); os.IsNotExist(err) {
			out = append(out, d)
		}
	}
	return out
}

// run runs a command with env added, bounded by timeout, and returns its
// combined output.
func run(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// chaosCmd prepares the chaos binary as a child process with env added to
// this process's environment.
func chaosCmd(t *testing.T, env []string, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	return clitest.Command(t, chaosBin.Path(t), env, args...)
}
