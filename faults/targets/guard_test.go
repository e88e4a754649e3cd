//go:build unix

package targets

import (
	"errors"
	"fmt"
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
)

// startNamed runs a copy of sleep under name (so /proc/PID/comm and the
// executable's base name are name) and returns its pid; cred, when set,
// runs it as another user. The process is killed when the test ends.
func startNamed(t *testing.T, name string, cred *syscall.Credential) int {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	b, err := os.ReadFile(sleep)
	require.NoError(t, err)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // another user must reach it
		require.NoError(t, os.Chmod(d, 0o755))
	}
	bin := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	var cmd *exec.Cmd
	for try := 0; ; try++ { // a fork elsewhere may hold the new file open for a moment
		cmd = exec.Command(bin, "300")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if err = cmd.Start(); err == nil || !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 100; i++ { // until exec has renamed it
		if c, _ := os.ReadFile("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/comm"); strings.TrimSpace(string(c)) == name {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd.Process.Pid
}

// uniqueName is a process name no other test uses (comm keeps 15 bytes).
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, time.Now().UnixNano()%1_000_000)
}

// TestStaticRefusesProcesses: a pid or process target that is init, chaos
// itself or its ancestors, a kernel thread, the container runtime or another
// user's process is refused before anything is injected; allow_host lets
// the host's own through, never chaos itself. Every refusal wraps
// ErrRefused, so the run is an invalid experiment (exit 2).
func TestStaticRefusesProcesses(t *testing.T) {
	s := &Static{Known: known()}
	containerd := startNamed(t, "containerd", nil)
	dockerd := startNamed(t, "dockerd", nil)
	twin := uniqueName("twin")
	twinA, twinB := startNamed(t, twin, nil), startNamed(t, twin, nil)
	tests := []struct {
		name    string
		spec    Spec
		want    []int // pids among the matches
		refused string
	}{
		{name: "pid 1", spec: Spec{Pid: 1}, refused: "target pid 1 (" + comm(1) + ") refused: it is the init of this machine or container (valid: another process, or set allow_host: true"},
		{name: "pid 1 with allow_host", spec: Spec{Pid: 1, AllowHost: true}, want: []int{1}},
		{name: "negative pid", spec: Spec{Pid: -4}, refused: "target pid -4 is not a process id"},
		{name: "own pid", spec: Spec{Pid: os.Getpid()}, refused: "it is chaos itself"},
		{name: "own pid with allow_host", spec: Spec{Pid: os.Getpid(), AllowHost: true}, refused: "it is chaos itself"},
		{name: "parent pid", spec: Spec{Pid: os.Getppid()}, refused: fmt.Sprintf("target pid %d (%s) refused: it is an ancestor of chaos", os.Getppid(), comm(os.Getppid()))},
		{name: "parent pid with allow_host", spec: Spec{Pid: os.Getppid(), AllowHost: true}, refused: "it is an ancestor of chaos"},
		{name: "runtime by pid", spec: Spec{Pid: containerd}, refused: fmt.Sprintf("target pid %d (containerd) refused: it is part of the host's init or container runtime", containerd)},
		{name: "runtime by pid with allow_host", spec: Spec{Pid: containerd, AllowHost: true}, want: []int{containerd}},
		{name: "process containerd", spec: Spec{Process: "containerd"}, refused: `target process "containerd" is part of the host's init or container runtime; chaos refuses it (valid: a process of your own, or set allow_host: true`},
		{name: "process dockerd", spec: Spec{Process: "dockerd"}, refused: `"dockerd" is part of the host's init or container runtime`},
		{name: "process systemd", spec: Spec{Process: "systemd"}, refused: `"systemd" is part of the host's init`},
		{name: "process systemd-journald", spec: Spec{Process: "systemd-journald"}, refused: `"systemd-journald" is part of the host's init`},
		{name: "process containerd-shim", spec: Spec{Process: "containerd-shim"}, refused: `"containerd-shim" is part of the host's init`},
		{name: "process containerd with allow_host", spec: Spec{Process: "containerd", AllowHost: true, Pick: "all"}, want: []int{containerd}},
		{name: "process dockerd with allow_host", spec: Spec{Process: "dockerd", AllowHost: true, Pick: "all"}, want: []int{dockerd}},
		{name: "two matches without pick", spec: Spec{Process: twin},
			refused: fmt.Sprintf(`target process %q matches 2 processes (%s[%d], %s[%d]) and chaos does not guess (valid: pick: all`, twin, twin, min(twinA, twinB), twin, max(twinA, twinB))},
		{name: "two matches, pick one", spec: Spec{Process: twin, Pick: "one"}, want: []int{twinA, twinB}},
		{name: "two matches, pick all", spec: Spec{Process: twin, Pick: "all"}, want: []int{twinA, twinB}},
		{name: "stack process by name", spec: Spec{Process: "gateway-0"}, want: []int{200}},
	}
	if comm(2) == "kthreadd" {
		tests = append(tests, struct {
			name    string
			spec    Spec
			want    []int
			refused string
		}{name: "kernel thread kthreadd", spec: Spec{Pid: 2, AllowHost: true}, refused: "target pid 2 (kthreadd) refused: it is a kernel thread (valid: a user-space process)"})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolveCase(t, s, tc.spec, tc.refused, true)
			if !ok {
				return
			}
			var pids []int
			for _, g := range got {
				pids = append(pids, g.Pid)
			}
			for _, pid := range tc.want {
				assert.Contains(t, pids, pid)
			}
		})
	}
}

// TestStaticRefusesOtherUsers: without allow_host a pid of another user is
// refused and a process name leaves other users' processes out, saying how
// many.
func TestStaticRefusesOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("starting another user's process needs root")
	}
	name := uniqueName("other")
	pid := startNamed(t, name, &syscall.Credential{Uid: 65534, Gid: 65534})
	s := &Static{}
	tests := []struct {
		name    string
		spec    Spec
		err     string
		refused bool
	}{
		{"pid of another user", Spec{Pid: pid}, fmt.Sprintf("target pid %d (%s) refused: it belongs to uid 65534, not to chaos's uid %d (valid: a process of your own, or set allow_host: true", pid, name, os.Getuid()), true},
		{"pid of another user with allow_host", Spec{Pid: pid, AllowHost: true}, "", false},
		{"name of another user's process", Spec{Process: name}, fmt.Sprintf(`target process %q matches nothing (no stack process of that name, no running process of yours with that name; 1 of other users' left out, allow_host: true includes them`, name), false},
		{"name with allow_host", Spec{Process: name, AllowHost: true}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolveCase(t, s, tc.spec, tc.err, tc.refused)
			if !ok {
				return
			}
			require.Len(t, got, 1)
			assert.Equal(t, pid, got[0].Pid)
		})
	}
}

// TestReadProcKernelThread reads a fake /proc: PF_KTHREAD in the flags, or
// a parent of pid 2, marks a kernel thread; a name with spaces and
// parentheses is read whole.
func TestReadProcKernelThread(t *testing.T) {
	root := t.TempDir()
	write := func(pid int, stat string) {
		dir := filepath.Join(root, strconv.Itoa(pid))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte("Name:\tx\nUid:\t1000\t1000\t1000\t1000\n"), 0o644))
	}
	write(70, "70 (kworker/0:1) I 0 0 0 0 -1 69238880 0 0")
	write(71, "71 (ksoftirqd/0) S 2 0 0 0 -1 0 0 0")
	write(72, "72 (my (odd) app) S 50 72 72 0 -1 4194560 0 0")
	old := procRoot
	procRoot = root
	t.Cleanup(func() { procRoot = old })
	tests := []struct {
		pid     int
		comm    string
		kthread bool
	}{{70, "kworker/0:1", true}, {71, "ksoftirqd/0", true}, {72, "my (odd) app", false}}
	for _, tc := range tests {
		t.Run(tc.comm, func(t *testing.T) {
			p, err := readProc(tc.pid)
			require.NoError(t, err)
			assert.Equal(t, tc.comm, p.comm)
			assert.Equal(t, tc.kthread, p.kthread)
			assert.Equal(t, 1000, p.uid)
			if tc.kthread {
				assert.Contains(t, refusal(p, true, nil), "kernel thread")
			}
		})
	}
}

// TestStaticRefusal: what an experiment's validation reports before a run.
func TestStaticRefusal(t *testing.T) {
	tests := []struct {
		name  string
		spec  Spec
		field string
	}{
		{"pid 1", Spec{Pid: 1}, "pid"},
		{"pid 1 allowed", Spec{Pid: 1, AllowHost: true}, ""},
		{"process kubelet", Spec{Process: "kubelet"}, "process"},
		{"process sshd allowed", Spec{Process: "sshd", AllowHost: true}, ""},
		{"process of one's own", Spec{Process: "model"}, ""},
		{"pid 7", Spec{Pid: 7}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			field, why := StaticRefusal(tc.spec)
			assert.Equal(t, tc.field, field)
			assert.Equal(t, tc.field != "", why != "", why)
		})
	}
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}
