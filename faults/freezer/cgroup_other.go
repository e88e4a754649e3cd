//go:build !linux

package freezer

import (
	"context"
	"fmt"
	"runtime"
	"time"
)

// The same API as on Linux, for a build that has no cgroups: every call
// returns an error that wraps ErrNotAvailable.

func available() error {
	return fmt.Errorf("freeze needs Linux (the cgroup freezer); this is %s: %w", runtime.GOOS, ErrNotAvailable)
}

// ReadCgroup reads a process's cgroups (Linux only).
func ReadCgroup(int) ([]Line, error) { return nil, available() }

// Locate finds the cgroup a freeze acts on (Linux only).
func Locate(int) (Cgroup, error) { return Cgroup{}, available() }

// Reopen finds a journaled cgroup again (Linux only). It never reports one
// as gone here: an undo from a Linux journal must not pass for done.
func Reopen(int, string, uint64) (Cgroup, bool, error) { return Cgroup{}, false, available() }

// State reads whether the cgroup is frozen (Linux only).
func (c Cgroup) State() (bool, error) { return false, available() }

// Set freezes or thaws the cgroup (Linux only).
func (c Cgroup) Set(context.Context, bool, time.Duration) error { return available() }

// Procs counts the cgroup's processes (Linux only).
func (c Cgroup) Procs() (int, error) { return 0, available() }

// Hierarchy is the cgroup hierarchy a freeze uses (Linux only): 0.
func Hierarchy() int { return 0 }

// Dir is where a cgroup is on disk (Linux only).
func Dir(int, string) (string, error) { return "", available() }

// Stopping reports whether a process of the cgroup is asked to stop
// (Linux only).
func (c Cgroup) Stopping() (bool, error) { return false, available() }
