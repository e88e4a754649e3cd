package targets

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProcessNameSkipsZombies: a process that exited and is not yet reaped
// (state Z) is no target: a name that matches it and one live process
// resolves to the live one, without asking for a pick.
func TestProcessNameSkipsZombies(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "zmbchaos")
	b, err := os.ReadFile("/bin/sleep")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	dead := exec.Command(bin, "0")
	require.NoError(t, dead.Start())
	t.Cleanup(func() { _ = dead.Wait() })
	live := exec.Command(bin, "30")
	require.NoError(t, live.Start())
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	require.Eventually(t, func() bool {
		p, err := readProc(dead.Process.Pid)
		return err == nil && p.zombie
	}, 5*time.Second, 10*time.Millisecond, "the first one exits and stays unreaped")

	ts, err := (&Static{}).Resolve(context.Background(), Spec{Process: "zmbchaos"})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, live.Process.Pid, ts[0].Pid)
}
