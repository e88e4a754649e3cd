package e2ekube

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// chaosBin is the chaos binary the tests build on first use.
var chaosBin = clitest.Binary{Dir: "chaos-e2ekube"}

// TestMain removes the built binary at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	chaosBin.Remove()
	os.Exit(code)
}

// chaosCmd prepares the chaos binary as a child process with env added to
// this process's environment.
func chaosCmd(t *testing.T, env []string, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	return clitest.Command(t, chaosBin.Path(t), env, args...)
}

// chaos runs the chaos binary to the end and returns its exit code and output.
func chaos(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd, out, errb := chaosCmd(t, nil, args...)
	return clitest.Run(t, cmd, out, errb)
}
