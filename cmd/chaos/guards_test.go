package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// guardNamed runs a copy of sleep named name, so its comm and executable
// are name, and kills it when the test ends.
func guardNamed(t *testing.T, name string) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	b, err := os.ReadFile(sleep)
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	var cmd *exec.Cmd
	for try := 0; ; try++ { // a fork elsewhere may hold the new file open for a moment
		cmd = exec.Command(bin, "300")
		if err = cmd.Start(); err == nil || !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// guardExperiment writes an experiment whose one fault, of kind with
// params, hits target; load goes to a loopback server.
func guardExperiment(t *testing.T, kind, target, params string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "guard.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: guard
load: {url: "%s/", method: GET, rate: 50/s}
steady_state: {for: 1s, slo: {error_rate: 1%%}}
faults:
  - name: f
    kind: %s
    target: %s
    params: %s
    for: 500ms
`, srv.URL, kind, target, params)), 0o644))
	return file
}

// TestGuardRefusedTargetsAreInvalid: a target chaos refuses (init, the
// process running chaos, a kernel thread, the container runtime, a name
// that matches several processes without a pick) stops the run before
// anything is injected, exit 2, with a line that names the target and says
// what would be valid. The fault is a harmless CONT, so a guard that fails
// shows as a wrong exit code, not a hung test.
func TestGuardRefusedTargetsAreInvalid(t *testing.T) {
	containerd := guardNamed(t, "containerd")
	twin := fmt.Sprintf("twin%d", time.Now().UnixNano()%1_000_000)
	a, b := guardNamed(t, twin), guardNamed(t, twin)
	tests := []struct {
		name, target string
		code         int
		says         []string
	}{
		{"pid 1 at validation", "{pid: 1}", 2, []string{"guard.yaml:8:19:", "faults[0].target.pid: pid 1 is the init of this machine or container; chaos refuses it (valid: another process, or set allow_host: true"}},
		{"chaos's parent", fmt.Sprintf("{pid: %d}", os.Getpid()), 2, []string{fmt.Sprintf("target pid %d", os.Getpid()), "it is an ancestor of chaos"}},
		{"chaos's parent even with allow_host", fmt.Sprintf("{pid: %d, allow_host: true}", os.Getpid()), 2, []string{"it is an ancestor of chaos"}},
		{"runtime by name at validation", "{process: containerd}", 2, []string{"guard.yaml:8:23:", `faults[0].target.process: "containerd" is part of the host's init or container runtime`}},
		{"runtime by pid", fmt.Sprintf("{pid: %d}", containerd), 2, []string{fmt.Sprintf("target pid %d (containerd) refused: it is part of the host's init or container runtime (valid: a process of your own, or set allow_host: true", containerd)}},
		{"runtime by pid with allow_host", fmt.Sprintf("{pid: %d, allow_host: true}", containerd), 0, nil},
		{"two matches without pick", "{process: " + twin + "}", 2, []string{fmt.Sprintf("matches 2 processes (%s[%d], %s[%d]) and chaos does not guess (valid: pick: all", twin, min(a, b), twin, max(a, b))}},
		{"two matches, pick one", "{process: " + twin + ", pick: one}", 0, nil},
	}
	if b, _ := os.ReadFile("/proc/2/comm"); strings.TrimSpace(string(b)) == "kthreadd" {
		tests = append(tests, struct {
			name, target string
			code         int
			says         []string
		}{"kernel thread", "{pid: 2, allow_host: true}", 2, []string{"target pid 2 (kthreadd) refused: it is a kernel thread"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := guardExperiment(t, "process", tc.target, "{signal: CONT}")
			code, _, stderr := chaos(t, "run", file, "--state-dir", t.TempDir())
			assert.Equal(t, tc.code, code, stderr)
			for _, s := range tc.says {
				assert.Contains(t, stderr, s)
			}
		})
	}
}

// TestGuardValidateRefusesPid1: `chaos validate` reports what the spec alone
// refuses with file:line:col, exit 2.
func TestGuardValidateRefusesPid1(t *testing.T) {
	file := guardExperiment(t, "process", "{pid: 1}", "{signal: STOP}")
	code, _, stderr := chaos(t, "validate", file)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, file+":8:19: faults[0].target.pid: pid 1 is the init")
	file = guardExperiment(t, "process", "{pid: 1, allow_host: true}", "{signal: STOP}")
	code, out, stderr := chaos(t, "validate", file)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "valid")
}

// hostSleep starts a sleep in the host's network namespace (a child of the
// test, so not an ancestor of the chaos it runs) and kills it at the end.
func hostSleep(t *testing.T) int {
	t.Helper()
	sleep := exec.Command("sleep", "300")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	return sleep.Process.Pid
}

// TestGuardHostNetnsIsInvalid: a network fault on a local process, which
// runs in the host's network namespace, is refused at preflight as an
// invalid experiment (exit 2), not a tool failure, and nothing is applied.
func TestGuardHostNetnsIsInvalid(t *testing.T) {
	nettest.Require(t)
	pid := strconv.Itoa(hostSleep(t))
	tests := []struct {
		name, kind, params string
	}{
		{"net-latency", "net-latency", "{delay: 50ms}"},
		{"net-loss", "net-loss", "{loss: 10%}"},
		{"partition", "partition", "{direction: both}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := guardExperiment(t, tc.kind, "{pid: "+pid+"}", tc.params)
			code, _, stderr := chaos(t, "run", file, "--state-dir", t.TempDir())
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, "target pid "+pid+" (pid "+pid+") runs in the host's network namespace; refusing to change the host's network (valid: a process in its own network namespace")
		})
	}
}
