package e2ekube

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// The chaos binary the tests build on first use, in binDir.
var (
	build    sync.Once
	binDir   string
	chaosExe string
	buildErr error
)

// TestMain removes the built binary at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// chaosBinary builds the chaos binary once, when a test first needs it
// (skipped tests do not pay for it): the tests drive it as a user would, as
// a child process they can kill.
func chaosBinary(t *testing.T) string {
	t.Helper()
	build.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "chaos-e2ekube"); buildErr != nil {
			return
		}
		exe := filepath.Join(binDir, "chaos")
		out, err := exec.Command("go", "build", "-o", exe, "github.com/chaos-sre/chaos/cmd/chaos").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%w\n%s", err, out)
			return
		}
		chaosExe = exe
	})
	require.NoError(t, buildErr, "build the chaos binary")
	return chaosExe
}

// chaosCmd prepares the chaos binary as a child process with env added to
// this process's environment.
func chaosCmd(t *testing.T, env []string, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	return clitest.Command(t, chaosBinary(t), env, args...)
}
