//go:build linux

package freezer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
)

func available() error { return nil }

// hostMount finds the mount of a hierarchy (1: the v1 freezer, 2: the
// unified one) as seen by a process that sees all of it: this one (on the
// host), else pid 1, else the first other process that does (an agent in
// a pod of its own mount namespace, with hostPID: its own mount shows its
// container's cgroup only, and pid 1 may be out of reach). prefix is how
// this process reaches that one's root ("" for its own).
func hostMount(version int) (prefix string, m mount, err error) {
	try := func(pid string) (string, mount, bool) {
		b, err := os.ReadFile("/proc/" + pid + "/mountinfo")
		if err != nil {
			return "", mount{}, false
		}
		m, ok := findMount(b, version)
		if !ok || m.Root != "/" || (version == 2 && !sameNS("/proc/"+pid+"/ns/cgroup", "/proc/1/ns/cgroup")) {
			return "", mount{}, false
		}
		prefix := "/proc/" + pid + "/root"
		if pid == "self" {
			prefix = ""
		}
		if _, err := os.Stat(prefix + m.Point); err != nil {
			return "", mount{}, false
		}
		return prefix, m, true
	}
	for _, pid := range []string{"self", "1"} {
		if prefix, m, ok := try(pid); ok {
			return prefix, m, nil
		}
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return "", mount{}, err
	}
	pids := make([]int, 0, len(ents))
	for _, e := range ents {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 1 {
			pids = append(pids, n)
		}
	}
	slices.Sort(pids)
	for _, pid := range pids {
		if prefix, m, ok := try(strconv.Itoa(pid)); ok {
			return prefix, m, nil
		}
	}
	return "", mount{}, fmt.Errorf("no process here sees the whole cgroup v%d %s hierarchy (the agent needs hostPID and privileged)", version, map[int]string{1: "freezer", 2: "(unified)"}[version])
}

// mounted reports whether this process sees a mount of the hierarchy.
func mounted(version int) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	_, ok := findMount(b, version)
	return ok
}

// Hierarchy is the version of the hierarchy a freeze uses here: 1 when
// the v1 freezer is mounted, else 2 (the unified one).
func Hierarchy() int {
	if v1Freezer() {
		return 1
	}
	return 2
}

// v1Freezer says a freeze uses the v1 freezer controller: it is mounted.
// Tests on a hybrid host (v1 controllers beside an empty unified
// hierarchy) turn it off to freeze through cgroup.freeze as on a v2 host.
var v1Freezer = func() bool { return mounted(1) }

// Dir is where the cgroup at path of a version's hierarchy is on disk.
func Dir(version int, path string) (string, error) { return dirOf(version, path) }

// dirOf is where the cgroup at path of a version's hierarchy is on disk.
func dirOf(version int, path string) (string, error) {
	prefix, m, err := hostMount(version)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(m.Root, filepath.Clean("/"+path))
	if err != nil || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("cgroup %s is outside the mounted hierarchy (root %s)", path, m.Root)
	}
	return filepath.Join(prefix+m.Point, rel), nil
}

// ReadCgroup reads /proc/PID/cgroup as the host's cgroup namespace sees it:
// a process in a cgroup namespace of its own (a container on cgroup v2)
// sees other processes' paths relative to its own root ("/../.."), so the
// file is read on a thread switched into pid 1's cgroup namespace.
func ReadCgroup(pid int) ([]Line, error) {
	file := "/proc/" + strconv.Itoa(pid) + "/cgroup"
	read := func() ([]Line, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return ParseCgroup(b), nil
	}
	if sameNS("/proc/self/ns/cgroup", "/proc/1/ns/cgroup") {
		return read()
	}
	type result struct {
		lines []Line
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/cgroup")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		host, err := os.Open("/proc/1/ns/cgroup")
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: err}
			return
		}
		defer host.Close()
		if err := unix.Setns(int(host.Fd()), unix.CLONE_NEWCGROUP); err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("enter the host's cgroup namespace: %w", err)}
			return
		}
		lines, rerr := read()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWCGROUP); err != nil {
			ch <- result{err: errors.Join(rerr, err)} // the thread stays locked and ends with this goroutine
			return
		}
		runtime.UnlockOSThread()
		ch <- result{lines, rerr}
	}()
	r := <-ch
	return r.lines, r.err
}

// sameNS reports whether two namespace files are one namespace (true when
// the second cannot be read: then there is no other to switch to).
func sameNS(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Stat(b, &sb) != nil {
		return true
	}
	return unix.Stat(a, &sa) == nil && sa.Ino == sb.Ino && sa.Dev == sb.Dev
}

// Locate finds the cgroup a freeze of process pid acts on: its pod's when
// the process is a Kubernetes container's (the whole pod hangs), else its
// own. The root cgroup and those that hold chaos itself or the host's init
// are refused (targets.ErrRefused).
func Locate(pid int) (Cgroup, error) {
	lines, err := ReadCgroup(pid)
	if err != nil {
		return Cgroup{}, fmt.Errorf("cgroup of pid %d: %w", pid, err)
	}
	l, version, ok := hierarchy(lines, v1Freezer())
	if !ok {
		return Cgroup{}, fmt.Errorf("pid %d is in no freezer cgroup (neither a v1 freezer nor a unified hierarchy)", pid)
	}
	c := Cgroup{Version: version, Path: l.Path}
	if strings.HasPrefix(l.Path, "/..") {
		return Cgroup{}, fmt.Errorf("pid %d: its cgroup %s is outside this process's cgroup namespace", pid, l.Path)
	}
	if pod, uid, _, ok := SplitPod(l.Path); ok {
		c.Path, c.Pod = pod, uid
	}
	if err := c.refuse(pid); err != nil {
		return Cgroup{}, err
	}
	if c.Dir, err = dirOf(version, c.Path); err != nil {
		return Cgroup{}, err
	}
	var st unix.Stat_t
	if err := unix.Stat(c.Dir, &st); err != nil {
		return Cgroup{}, fmt.Errorf("%s: %w", c, err)
	}
	c.Inode = st.Ino
	return c, nil
}

// refuse says why c must not be frozen: freezing chaos would leave nobody
// to thaw it, and freezing init hangs the machine.
func (c Cgroup) refuse(pid int) error {
	if c.Path == "/" || c.Path == "" {
		return targets.Refusef("pid %d is in the root cgroup; refusing to freeze every process of the machine (valid: a process in a cgroup of its own, such as a container's or a pod's)", pid)
	}
	for _, who := range []struct {
		pid  int
		name string
	}{{os.Getpid(), "chaos itself"}, {1, "the host's init (pid 1)"}} {
		lines, err := ReadCgroup(who.pid)
		if err != nil {
			continue
		}
		for _, l := range lines {
			if (c.Version == 1 && contains(l.Controllers, "freezer")) || (c.Version == 2 && l.ID == "0") {
				if within(l.Path, c.Path) {
					return targets.Refusef("%s holds %s; refusing to freeze it (valid: a process in a cgroup of its own, such as a container's or a pod's)", c, who.name)
				}
			}
		}
	}
	return nil
}

// files of each version: where to ask, what to write, what says done
var control = map[int]struct{ file, freeze, thaw, frozen, thawed string }{
	1: {"freezer.state", "FROZEN", "THAWED", "FROZEN", "THAWED"},
	2: {"cgroup.freeze", "1", "0", "frozen 1", "frozen 0"},
}

// State reads whether the cgroup is frozen or freezing (v1: freezer.state
// other than THAWED; v2: cgroup.freeze 1). A cgroup that is gone is not.
func (c Cgroup) State() (frozen bool, err error) {
	b, err := os.ReadFile(filepath.Join(c.Dir, control[c.Version].file))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", c, err)
	}
	s := strings.TrimSpace(string(b))
	return s != control[c.Version].thaw, nil
}

// Set freezes (or thaws) the cgroup and waits until the kernel says it is
// done. A cgroup that is gone counts as thawed.
func (c Cgroup) Set(ctx context.Context, freeze bool, within time.Duration) error {
	ctl := control[c.Version]
	val, want, statusFile := ctl.thaw, ctl.thawed, ctl.file
	if freeze {
		val, want = ctl.freeze, ctl.frozen
	}
	if c.Version == 2 {
		statusFile = "cgroup.events"
	}
	deadline := time.Now().Add(within)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		// written again on every try: a v1 freeze can stay FREEZING when a
		// task forks as it is frozen, and runc does the same
		err := os.WriteFile(filepath.Join(c.Dir, ctl.file), []byte(val), 0)
		if gone(err) && !freeze {
			return nil
		}
		if err != nil {
			return fmt.Errorf("write %s to %s of %s: %w", val, ctl.file, c, err)
		}
		b, err := os.ReadFile(filepath.Join(c.Dir, statusFile))
		if gone(err) && !freeze {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if hasLine(string(b), want) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not %s %s after writing %s (%s says %q)", c, want, within, val, statusFile, strings.TrimSpace(string(b)))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", c, ctx.Err())
		case <-time.After(wait):
		}
	}
}

// gone says a cgroup file could not be reached because the cgroup was
// removed (its processes all exited: the pod was deleted).
func gone(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENODEV)
}

func hasLine(s, want string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}

// Reopen finds the cgroup of a journal entry again: the same path with the
// same inode; ok is false when it is gone (and so is its freeze).
func Reopen(version int, path string, inode uint64) (c Cgroup, ok bool, err error) {
	if _, known := control[version]; !known {
		return Cgroup{}, false, fmt.Errorf("unknown cgroup version %d", version)
	}
	c = Cgroup{Version: version, Path: path, Inode: inode}
	if c.Dir, err = dirOf(version, path); err != nil {
		return c, false, err
	}
	var st unix.Stat_t
	if err := unix.Stat(c.Dir, &st); err != nil {
		if gone(err) {
			return c, false, nil
		}
		return c, false, fmt.Errorf("%s: %w", c, err)
	}
	if st.Ino != inode {
		return c, true, &faults.NotSameError{What: c.String(), Why: fmt.Sprintf("it was made again: inode %d, the journal says %d", st.Ino, inode)}
	}
	return c, true, nil
}

// Procs counts the processes in the cgroup and below it: 0 once every one
// of them is gone (a deleted pod), and when the cgroup itself is.
func (c Cgroup) Procs() (int, error) {
	n := 0
	err := filepath.WalkDir(c.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if gone(err) {
				return filepath.SkipDir
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if gone(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		n += strings.Count(string(b), "\n")
		return nil
	})
	if gone(err) {
		return 0, nil
	}
	return n, err
}

// Stopping reports whether a process of the cgroup (or below it) has a
// SIGTERM or SIGKILL pending: someone (the kubelet deleting the pod, or
// restarting a container whose liveness failed) wants it to stop, and a
// frozen process never will until it is thawed.
func (c Cgroup) Stopping() (bool, error) {
	const term, kill = 1 << (15 - 1), 1 << (9 - 1)
	stopping := false
	err := filepath.WalkDir(c.Dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() || stopping {
			if err != nil && gone(err) {
				return filepath.SkipDir
			}
			return err
		}
		b, err := os.ReadFile(filepath.Join(p, "cgroup.procs"))
		if gone(err) {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		for _, pid := range strings.Fields(string(b)) {
			st, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(st), "\n") {
				k, v, ok := strings.Cut(l, ":")
				if !ok || (k != "SigPnd" && k != "ShdPnd") {
					continue
				}
				if mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && mask&(term|kill) != 0 {
					stopping = true
					return filepath.SkipAll
				}
			}
		}
		return nil
	})
	if gone(err) {
		return false, nil
	}
	return stopping, err
}
