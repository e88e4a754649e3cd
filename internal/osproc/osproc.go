// Package osproc is what the process and connection faults need of the
// OS, on every OS: signals by name, the open-file limit, and whether the
// process faults can run here at all (they guard every pid with its start
// time from /proc, which only Linux has).
package osproc

import (
	"errors"
	"fmt"
	"runtime"
)

// ErrNotAvailable is wrapped by the error of what this OS cannot do.
var ErrNotAvailable = errors.New("not available on this OS")

// Available says whether signal faults on local processes can run on this
// OS: nil on Linux, else an error that wraps ErrNotAvailable and names the OS.
func Available() error {
	if runtime.GOOS == "linux" {
		return nil
	}
	return fmt.Errorf("process faults need Linux (a pid is guarded by its start time in /proc); this is %s: %w", runtime.GOOS, ErrNotAvailable)
}
