//go:build unix

package sysfile

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// NoFollow is the open flag that refuses a symlink as the last element.
const NoFollow = syscall.O_NOFOLLOW

// removeOpen: a file can be removed while it is open.
const removeOpen = true

// Perms: the OS keeps a file's permission bits and owner, so they can be
// checked.
const Perms = true

// TryLock locks f (the whole file, advisory) without waiting: exclusive
// for one holder, or shared. ErrLocked: another open file holds it.
func TryLock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return ErrLocked
	}
	return err
}

// Owner is the uid that owns fi's file; ok is false when fi does not say.
func Owner(fi os.FileInfo) (uid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// Writable says whether this process may create files in dir.
func Writable(dir string) error { return unix.Access(dir, unix.W_OK) }
