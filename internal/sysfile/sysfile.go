// Package sysfile is what the journal and the leases need of the OS's
// files, on every OS: a lock that says whether another process holds the
// file (flock(2) on Unix, LockFileEx on Windows), opens that refuse a
// symlink, and the owner and permission bits where the OS has them.
package sysfile

import (
	"errors"
	"os"
)

// ErrLocked is the error of TryLock when another open file holds a lock
// that conflicts.
var ErrLocked = errors.New("locked by another open file")

// CloseRemoving closes f and, unless path is "", removes path (the file f
// has open and locked); a file already gone is success. On Unix the file
// goes first, so no one can lock it between the unlock and the removal;
// Windows cannot remove an open file (Go opens without FILE_SHARE_DELETE),
// so there f is closed first.
func CloseRemoving(f *os.File, path string) error {
	remove := func() error {
		if path == "" {
			return nil
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if removeOpen {
		err := remove()
		return errors.Join(err, f.Close())
	}
	err := f.Close()
	return errors.Join(remove(), err)
}
