package e2ecompose

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// chaosBin is the chaos binary the tests build on first use.
var chaosBin = clitest.Binary{Dir: "chaos-e2ecompose"}

// TestMain removes the built binary at the end.
func TestMain(m *testing.M) {
	code := m.Run()
	chaosBin.Remove()
	os.Exit(code)
}

// chaosCmd prepares the chaos binary as a child process.
func chaosCmd(t *testing.T, args ...string) (*exec.Cmd, *clitest.Buffer, *clitest.Buffer) {
	t.Helper()
	return clitest.Command(t, chaosBin.Path(t), nil, args...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	clitest.WaitFor(t, what, cond)
}
