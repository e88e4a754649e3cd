//go:build windows

package sysfile

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// NoFollow is 0: Windows opens follow symlinks (creating one needs a
// privilege there).
const NoFollow = 0

// removeOpen: Windows refuses to remove an open file.
const removeOpen = false

// Perms: Windows keeps no Unix permission bits (Go reports 0666 or 0444)
// nor uids, so checks of them are skipped.
const Perms = false

// lockAt is where the lock sits: one byte far past any content. Windows
// locks are mandatory, so a lock over the content would stop others from
// reading what the holder wrote; flock(2) is advisory.
const lockAt = 1 << 62

// TryLock locks f without waiting: exclusive for one holder, or shared.
// ErrLocked: another open file holds it.
func TryLock(f *os.File, exclusive bool) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	ol := &windows.Overlapped{Offset: uint32(lockAt & 0xffffffff), OffsetHigh: uint32(lockAt >> 32)}
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return ErrLocked
	}
	return err
}

// Owner is not known on Windows.
func Owner(os.FileInfo) (uid int, ok bool) { return 0, false }

// Writable says whether this process may create files in dir: it makes
// one and removes it.
func Writable(dir string) error {
	f, err := os.CreateTemp(dir, ".chaos-writable-*")
	if err != nil {
		return err
	}
	name := f.Name()
	return errors.Join(f.Close(), os.Remove(name))
}
