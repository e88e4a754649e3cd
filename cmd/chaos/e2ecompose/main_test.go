package e2ecompose

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// chaosExe is the chaos binary TestMain builds for the tests to run.
var chaosExe string

// TestMain builds the chaos binary once: the tests drive it as a user
// would, as a child process they can signal.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chaos-e2ecompose")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	chaosExe = filepath.Join(dir, "chaos")
	build := exec.Command("go", "build", "-o", chaosExe, "github.com/chaos-sre/chaos/cmd/chaos")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build chaos:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// chaosCmd prepares the chaos binary as a child process.
func chaosCmd(t *testing.T, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	return clitest.Command(t, chaosExe, nil, args...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	clitest.WaitFor(t, what, cond)
}
