package clitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Binary is the chaos binary an end-to-end test package builds once, when a
// test first needs it (skipped tests do not pay for it), into a folder of
// its own that Remove deletes: the tests drive it as a user would, as a
// child process they can signal or kill.
type Binary struct {
	// Dir is the pattern of the temporary folder (os.MkdirTemp).
	Dir string
	// Static builds it as examples/kubernetes/agent/install.sh does
	// (CGO_ENABLED=0, -trimpath, stripped), so an image can be made of the
	// same file.
	Static bool

	once sync.Once
	dir  string
	exe  string
	err  error
}

// Path builds the binary on first use and returns its path; a failed build
// fails the test (and every later one).
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", b.Dir); b.err != nil {
			return
		}
		exe := filepath.Join(b.dir, "chaos")
		start := time.Now()
		args := []string{"build"}
		if b.Static {
			args = append(args, "-trimpath", "-ldflags=-s -w")
		}
		cmd := exec.Command("go", append(args, "-o", exe, "github.com/chaos-sre/chaos/cmd/chaos")...)
		if b.Static {
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%w\n%s", err, out)
			return
		}
		if b.Static {
			t.Logf("built the static chaos binary in %.1fs", time.Since(start).Seconds())
		}
		b.exe = exe
	})
	require.NoError(t, b.err, "build the chaos binary")
	return b.exe
}

// Remove deletes the built binary's folder, if any; TestMain calls it after
// the tests ran.
func (b *Binary) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}
