//go:build linux

// Package agenttest makes what the node agent's tests act on: a pod as
// the kubelet leaves it on a node, without a kubelet — a sandbox process
// in a network namespace of its own and an app process that joined it,
// each in a container's cgroup below a pod<UID> cgroup. The agent finds it
// through /proc as it finds a real pod. Everything is removed when the
// test ends.
package agenttest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/faults/freezer"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// Pod is a fake pod on this machine.
type Pod struct {
	UID         string
	ContainerID string // the app's
	Sandbox     *exec.Cmd
	App         *exec.Cmd
	// Version is the cgroup hierarchy's (1: v1 freezer); Dir the pod's
	// cgroup on disk.
	Version int
	Dir     string
	// NS is a handle of the pod's network namespace, open until the test
	// ends: it can be looked into once the pod is gone.
	NS *network.NS
}

// New makes a fake pod; it needs root (skipped otherwise).
func New(t testing.TB) *Pod {
	t.Helper()
	nettest.Require(t)
	p := &Pod{UID: uuid(), ContainerID: hexID(), Version: freezer.Hierarchy()}
	base := "/chaos-agenttest-" + hexID()[:8]
	dirOf := func(path string) string {
		d, err := freezer.Dir(p.Version, path)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	baseDir := dirOf(base)
	p.Dir = dirOf(base + "/pod" + p.UID)
	sandboxDir, appDir := filepath.Join(p.Dir, hexID()), filepath.Join(p.Dir, p.ContainerID)
	for _, d := range []string{baseDir, p.Dir, sandboxDir, appDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		p.Kill()
		for _, d := range []string{appDir, sandboxDir, p.Dir, baseDir} {
			_ = os.Remove(d)
		}
	})
	p.Sandbox = start(t, sandboxDir, "unshare", "--net", "sleep", "3600")
	// sleep runs once unshare made its namespace (this process's own may
	// not tell: a netem probe can leave its main thread elsewhere)
	wait(t, "the sandbox in a namespace of its own", func() bool { return comm(p.Sandbox.Process.Pid) == "sleep" })
	var err error
	if p.NS, err = network.OpenPid(p.Sandbox.Process.Pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.NS.Close() })
	// the app starts a clock tick (10 ms) after the sandbox at least, as a
	// kubelet's does: the agent tells them apart by their start
	time.Sleep(20 * time.Millisecond)
	p.App = start(t, appDir, "nsenter", "--net=/proc/"+strconv.Itoa(p.Sandbox.Process.Pid)+"/ns/net", "sleep", "3600")
	wait(t, "the app in the sandbox's namespace", func() bool {
		ino, err := network.PidInode(p.App.Process.Pid)
		return err == nil && ino == p.NS.Inode && comm(p.App.Process.Pid) == "sleep"
	})
	return p
}

// start runs a command in cgroup dir (it moves itself there first).
func start(t testing.TB, dir string, args ...string) *exec.Cmd {
	t.Helper()
	script := `echo $$ > "$0"/cgroup.procs && exec "$@"`
	cmd := exec.Command("sh", append([]string{"-c", script, dir}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait(t, "pid "+strconv.Itoa(cmd.Process.Pid)+" in "+dir, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		return strings.Contains("\n"+string(b), "\n"+strconv.Itoa(cmd.Process.Pid)+"\n")
	})
	return cmd
}

// Kill ends the pod's processes (thawing it first: a frozen v1 process
// cannot die), as a pod's deletion does.
func (p *Pod) Kill() {
	_ = os.WriteFile(filepath.Join(p.Dir, map[int]string{1: "freezer.state", 2: "cgroup.freeze"}[p.Version]), []byte(map[int]string{1: "THAWED", 2: "0"}[p.Version]), 0)
	for _, c := range []*exec.Cmd{p.App, p.Sandbox} {
		if c != nil && c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
}

// Stop sends sig to the pod's processes as the kubelet does when the pod
// is deleted (frozen, they cannot take it until thawed).
func (p *Pod) Stop(sig os.Signal) {
	for _, c := range []*exec.Cmd{p.App, p.Sandbox} {
		_ = c.Process.Signal(sig)
	}
}

// Frozen reads the pod cgroup's freezer state: FROZEN or THAWED (v1), 1
// or 0 (v2).
func (p *Pod) Frozen() string {
	f := map[int]string{1: "freezer.state", 2: "cgroup.freeze"}[p.Version]
	b, err := os.ReadFile(filepath.Join(p.Dir, f))
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(string(b))
}

// ProcessState is the state letter of a process (S sleeping, D frozen
// in v1's refrigerator…) from /proc/PID/stat.
func ProcessState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

func comm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

func wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

func hexID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
