// Package sysfile is what the journal and the leases need of the OS's
// files, on every OS: a lock that says whether another process holds the
// file (flock(2) on Unix, LockFileEx on Windows), opens that refuse a
// symlink, and the owner and permission bits where the OS has them.
package sysfile

import "errors"

// ErrLocked is the error of TryLock when another open file holds a lock
// that conflicts.
var ErrLocked = errors.New("locked by another open file")
