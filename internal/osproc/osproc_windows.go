package osproc

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// Signal ends pid for KILL (TerminateProcess); Windows has no other signal
// to send another process.
func Signal(pid int, name string) error {
	if name != "KILL" {
		return fmt.Errorf("signal %s: Windows can only kill a process: %w", name, ErrNotAvailable)
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return errors.Join(err, syscall.ESRCH)
	}
	defer p.Release()
	return p.Kill()
}

// OpenFileLimit is Windows' per-process handle limit (2^24): no rlimit
// stands in the way of files or sockets there.
func OpenFileLimit() (int, error) { return 1 << 24, nil }
