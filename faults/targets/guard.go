package targets

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Refusef is a refused target: the message names the target, says why and
// what would be valid. It matches ErrRefused, so the run is an invalid
// experiment (exit 2), not a broken tool.
func Refusef(format string, args ...any) error {
	return &refused{fmt.Sprintf(format, args...)}
}

type refused struct{ msg string }

func (r *refused) Error() string        { return r.msg }
func (r *refused) Is(target error) bool { return target == ErrRefused }

// hostNames are the processes of the host's init and container runtime,
// by comm or executable name; hostPrefixes cover their families. A fault on
// one of them hits every container, or the machine, at once.
var (
	hostNames    = []string{"dockerd", "containerd", "runc", "crun", "systemd", "init", "kubelet", "sshd"}
	hostPrefixes = []string{"containerd-shim", "systemd-"}
)

// HostProcess reports whether name (a comm or an executable's base name)
// is part of the host's init or container runtime.
func HostProcess(name string) bool {
	if slices.Contains(hostNames, name) {
		return true
	}
	for _, p := range hostPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

const allowHostHint = "or set allow_host: true in the target if you mean it"

// StaticRefusal is the refusal an experiment shows before anything runs:
// the field of the target spec at fault and why, or "" when nothing in the
// spec alone is refused.
func StaticRefusal(s Spec) (field, why string) {
	switch {
	case s.AllowHost:
	case s.Pid == 1:
		return "pid", "pid 1 is the init of this machine or container; chaos refuses it (valid: another process, " + allowHostHint + ")"
	case s.Process != "" && HostProcess(s.Process):
		return "process", fmt.Sprintf("%q is part of the host's init or container runtime; chaos refuses it (valid: a process of your own, %s)", s.Process, allowHostHint)
	}
	return "", ""
}

// procRoot is where the guards read processes; tests point it elsewhere.
var procRoot = "/proc"

// proc is what the guards read of one process.
type proc struct {
	pid, ppid int
	comm, exe string // exe is the executable's base name, "" when unreadable
	kthread   bool
	zombie    bool // state Z: exited, not yet reaped; nothing left to hit
	uid       int  // real uid, -1 when unknown
}

// pfKthread is PF_KTHREAD in the flags of /proc/PID/stat.
const pfKthread = 0x00200000

func readProc(pid int) (proc, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid))
	b, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return proc{}, err
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return proc{}, fmt.Errorf("%s/stat: unreadable", dir)
	}
	p := proc{pid: pid, comm: s[open+1 : end], uid: -1}
	f := strings.Fields(s[end+1:]) // state ppid pgrp session tty tpgid flags …
	if len(f) < 7 {
		return proc{}, fmt.Errorf("%s/stat: unreadable", dir)
	}
	p.ppid, _ = strconv.Atoi(f[1])
	p.zombie = f[0] == "Z" || f[0] == "X"
	flags, _ := strconv.ParseUint(f[6], 10, 64)
	p.kthread = flags&pfKthread != 0 || pid == 2 || p.ppid == 2
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		p.exe = filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
	}
	if st, err := os.ReadFile(filepath.Join(dir, "status")); err == nil {
		for line := range strings.SplitSeq(string(st), "\n") {
			if v, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(v); len(f) > 0 {
					p.uid, _ = strconv.Atoi(f[0])
				}
			}
		}
	}
	return p, nil
}

// lineage is chaos's own pid and every ancestor up to (not including) pid 1:
// stopping any of them stops the run itself.
func lineage() map[int]bool {
	out := map[int]bool{}
	for pid := os.Getpid(); pid > 1 && !out[pid]; {
		out[pid] = true
		p, err := readProc(pid)
		if err != nil {
			break
		}
		pid = p.ppid
	}
	return out
}

// refusal says why chaos will not act on p ("" when it may) and what would
// be valid instead. Chaos itself, its ancestors and kernel threads are never
// valid; init, the host's runtime and other users' processes are with
// allowHost.
func refusal(p proc, allowHost bool, mine map[int]bool) string {
	switch {
	case p.pid == os.Getpid():
		return "it is chaos itself (valid: any process but chaos and the processes it runs under)"
	case mine[p.pid]:
		return "it is an ancestor of chaos (the shell or runner it was started from), so the fault would stop the run itself (valid: any process but chaos and the processes it runs under)"
	case p.kthread:
		return "it is a kernel thread (valid: a user-space process)"
	case allowHost:
		return ""
	case p.pid == 1:
		return "it is the init of this machine or container (valid: another process, " + allowHostHint + ")"
	case HostProcess(p.comm) || HostProcess(p.exe):
		return "it is part of the host's init or container runtime (valid: a process of your own, " + allowHostHint + ")"
	case p.uid >= 0 && p.uid != os.Getuid():
		return fmt.Sprintf("it belongs to uid %d, not to chaos's uid %d (valid: a process of your own, %s)", p.uid, os.Getuid(), allowHostHint)
	}
	return ""
}

// guardPid resolves a pid that no stack process has, refusing what chaos
// must not touch.
func guardPid(spec Spec) ([]Target, error) {
	if spec.Pid <= 0 {
		return nil, Refusef("target pid %d is not a process id (valid: a pid above 1)", spec.Pid)
	}
	p, err := readProc(spec.Pid)
	if err != nil {
		return nil, fmt.Errorf("target pid %d: no such process", spec.Pid)
	}
	if why := refusal(p, spec.AllowHost, lineage()); why != "" {
		return nil, Refusef("target pid %d (%s) refused: %s", p.pid, p.comm, why)
	}
	return []Target{{Name: "pid " + strconv.Itoa(p.pid), Pid: p.pid}}, nil
}

// procsByName lists the processes whose comm is name, except chaos itself,
// sorted by pid. Without allowHost only chaos's own user's processes count;
// others is how many of other users' were left out.
func procsByName(name string, allowHost bool) ([]proc, int, error) {
	return procsWhere(allowHost, func(pid int) bool {
		b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "comm"))
		return err == nil && strings.TrimSpace(string(b)) == name
	})
}

// procsWhere lists the live processes (not zombies) that match, except
// chaos itself, sorted by pid: only chaos's own user's unless allowHost;
// others counts the other users' left out.
func procsWhere(allowHost bool, match func(pid int) bool) (ps []proc, others int, err error) {
	dirs, err := filepath.Glob(filepath.Join(procRoot, "[0-9]*"))
	if err != nil {
		return nil, 0, err
	}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == os.Getpid() || !match(pid) {
			continue
		}
		p, err := readProc(pid)
		if err != nil || p.zombie {
			continue // gone meanwhile, or dead and not yet reaped
		}
		if !allowHost && p.uid >= 0 && p.uid != os.Getuid() {
			others++
			continue
		}
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b proc) int { return a.pid - b.pid })
	return ps, others, nil
}
