package run

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDryRunShowsLocalSelectorsResolved: cmdline, pidfile and port targets
// are named as written and resolved to the processes they find now; a
// refused one says why on its line.
func TestDryRunShowsLocalSelectorsResolved(t *testing.T) {
	secs := strconv.FormatInt(4_000_000+time.Now().UnixNano()%1_000_000, 10)
	cmd := exec.Command("sleep", secs)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	for i := 0; i < 200; i++ { // until exec has replaced the forked copy of us
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); string(b) == "sleep\n" {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	pidfile := filepath.Join(t.TempDir(), "sleep.pid")
	require.NoError(t, os.WriteFile(pidfile, []byte(strconv.Itoa(pid)+"\n"), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: dry-local
stack: {vars: {svc: "http://127.0.0.1:1"}}
load: {url: "${svc}/", method: GET, rate: 5/s}
faults:
  - {name: by-cmdline, kind: process, target: {cmdline: '^sleep %s$'}, params: {signal: STOP}, for: 2s}
  - {name: by-pidfile, kind: process, target: {pidfile: %s}, params: {signal: STOP}, at: 2s, for: 2s}
  - {name: by-port, kind: process, target: {port: %d}, params: {signal: STOP}, at: 4s, for: 2s}
`, secs, pidfile, port))
	var out bytes.Buffer
	rep, err := Run(context.Background(), exp, Options{Seed: 1, DryRun: true, StateDir: t.TempDir(), Stdout: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, ExitHeld, rep.ExitCode)
	got := out.String()
	t.Log(got)
	assert.Contains(t, got, fmt.Sprintf("by-cmdline: process on cmdline \"^sleep %s$\" (pick all)", secs))
	assert.Contains(t, got, fmt.Sprintf("by-pidfile: process on pidfile %s (pick all)", pidfile))
	assert.Contains(t, got, fmt.Sprintf("by-port: process on port %d (pick all)", port))
	assert.Contains(t, got, fmt.Sprintf("      → sleep[%d]", pid))
	assert.Regexp(t, fmt.Sprintf(`by-pidfile.*\n      → sleep\[%d\]`, pid), got)
	assert.Regexp(t, `by-port.*\n      not resolved: target port \d+ matches .*, refused: it is chaos itself`, got)
}
