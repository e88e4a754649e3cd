package targets

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// procTarget is the target of a local process a cmdline, pidfile or port
// selector found: the stack's own target when it is a stack process (it
// knows its service, address and proxy), else comm[pid].
func (s *Static) procTarget(p proc) Target {
	for _, t := range s.Known {
		if t.Pid == p.pid {
			return t
		}
	}
	return Target{Name: p.comm + "[" + strconv.Itoa(p.pid) + "]", Pid: p.pid}
}

// byCmdline resolves a regular expression over command lines: chaos's own
// user's processes whose command line matches, through the guards.
func (s *Static) byCmdline(spec Spec) ([]Target, error) {
	re, err := regexp.Compile(spec.Cmdline)
	if err != nil {
		return nil, fmt.Errorf("target cmdline %q is not a regular expression: %w", spec.Cmdline, err)
	}
	ps, others, err := procsByCmdline(re, spec.AllowHost)
	if err != nil {
		return nil, fmt.Errorf("target cmdline %q: %w", spec.Cmdline, err)
	}
	if len(ps) == 0 {
		left := ""
		if others > 0 {
			left = fmt.Sprintf("; %d of other users' left out, allow_host: true includes them", others)
		}
		return nil, fmt.Errorf("target cmdline %q matches nothing (no running process of yours has a command line it matches%s)", spec.Cmdline, left)
	}
	return s.guarded(fmt.Sprintf("cmdline %q", spec.Cmdline), spec, ps, s.procTarget)
}

// byPidfile resolves the pid a pid file holds, through the guards. A pid
// file older than its process is stale: the pid was reused by a process
// started after the file was written, and chaos refuses it.
func (s *Static) byPidfile(spec Spec) ([]Target, error) {
	what := "pidfile " + spec.Pidfile
	pid, written, err := readPidfile(spec.Pidfile)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", what, err)
	}
	p, err := readProc(pid)
	if err != nil {
		return nil, fmt.Errorf("target %s holds pid %d, which is not running (a stale pid file? valid: the pid file of a running process)", what, pid)
	}
	if started, err := procStart(pid); err == nil && started.After(written.Add(pidReuseSlack)) {
		return nil, Refusef("target %s holds pid %d, but %s[%d] started at %s, after the file was last written at %s: the pid was reused and the file is stale (valid: the pid file of a running process)",
			what, pid, p.comm, pid, started.Format(time.TimeOnly), written.Format(time.TimeOnly))
	}
	return s.guarded(what, spec, []proc{p}, s.procTarget)
}

// pidReuseSlack is how much later than its pid file a process may seem to
// have started: boot time is whole seconds, start time clock ticks.
const pidReuseSlack = 2 * time.Second

// procStart is when pid started: boot time plus its start time in clock
// ticks (USER_HZ, 100 on Linux) from /proc/PID/stat.
func procStart(pid int) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return time.Time{}, err
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 20 { // state is field 3, starttime field 22
		return time.Time{}, fmt.Errorf("pid %d: stat unreadable", pid)
	}
	ticks, err := strconv.ParseInt(f[19], 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	st, err := os.ReadFile(filepath.Join(procRoot, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	for line := range strings.SplitSeq(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			boot, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, err
			}
			return time.Unix(boot, 0).Add(time.Duration(ticks) * (time.Second / 100)), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s/stat: no btime", procRoot)
}

// byPort resolves a TCP port of this host: the processes holding a socket
// that listens on it, through the guards. A port a container runtime
// forwards (docker-proxy …) is refused without allow_host: the container
// is the target to name.
func (s *Static) byPort(spec Spec) ([]Target, error) {
	what := fmt.Sprintf("port %d", spec.Port)
	if spec.Port < 1 || spec.Port > 65535 {
		return nil, fmt.Errorf("target %s is not a TCP port (valid: 1 to 65535)", what)
	}
	ls, err := listeners(spec.Port)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", what, err)
	}
	if len(ls) == 0 {
		return nil, fmt.Errorf("target %s: nothing listens on TCP port %d of this host (%s)", what, spec.Port, listeningPorts())
	}
	ps, addr, err := procsBySocket(ls)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", what, err)
	}
	if len(ps) == 0 {
		for _, l := range ls {
			if l.uid != os.Getuid() {
				return nil, fmt.Errorf("target %s: its listening socket belongs to uid %d, whose processes chaos (uid %d) cannot look into (valid: a port of your own processes, or run chaos as uid %d or root)", what, l.uid, os.Getuid(), l.uid)
			}
		}
		return nil, fmt.Errorf("target %s: a socket listens on it but no process holds it any more (valid: the port of a running process)", what)
	}
	for _, p := range ps {
		if !spec.AllowHost && (slices.Contains(portForwarders, p.comm) || slices.Contains(portForwarders, p.exe)) {
			return nil, Refusef("target %s is held by %s[%d], which forwards it to a container: a fault on it hits the forwarding, not the service (valid: container: or service: to name the container, or %s)", what, p.comm, p.pid, allowHostHint)
		}
	}
	return s.guarded(what, spec, ps, func(p proc) Target {
		t := s.procTarget(p)
		if t.Addr == "" {
			t.Addr = addr[p.pid]
		}
		return t
	})
}
