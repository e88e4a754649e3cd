//go:build unix

package osproc

import (
	"fmt"
	"syscall"
)

var signals = map[string]syscall.Signal{
	"STOP": syscall.SIGSTOP, "CONT": syscall.SIGCONT, "KILL": syscall.SIGKILL,
	"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "QUIT": syscall.SIGQUIT,
}

// Signal sends the signal named name (STOP, CONT, KILL, TERM, INT, QUIT)
// to pid. A process already gone is an error that matches syscall.ESRCH.
func Signal(pid int, name string) error {
	s, ok := signals[name]
	if !ok {
		return fmt.Errorf("unknown signal %q (valid: STOP, CONT, KILL, TERM, INT, QUIT)", name)
	}
	return syscall.Kill(pid, s)
}

// OpenFileLimit is how many files this process may have open (the soft
// RLIMIT_NOFILE).
func OpenFileLimit() (int, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return int(min(lim.Cur, 1<<31-1)), nil
}
