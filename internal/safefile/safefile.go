// Package safefile reads the files chaos takes as input — experiments,
// suites, saved results — so that no input can hurt it: a file over its
// limit is refused from its size alone (never read into memory), and
// anything that is not a regular file (a FIFO, a device, a socket, a
// directory) is refused without opening it in a way that could block.
package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// MaxSize is the largest experiment or suite chaos reads: they are a few
// kilobytes, so 8 MiB leaves room to spare while a mistaken path (a log, an
// image, a core dump) costs nothing.
const MaxSize = 8 << 20

// Error is an input file refused before or while it was read. It names the
// file, what is wrong with it and what would be valid.
type Error struct {
	Path string
	// Msg says what is wrong and what is valid, without the path.
	Msg string
	// Err is why the system could not stat, open or read the file (a
	// syscall.Errno, without the path), nil when the file was refused for its
	// kind or size.
	Err error
}

// Error prints "path: message".
func (e *Error) Error() string { return e.Path + ": " + e.Msg }

// Unwrap gives the underlying error, so errors.Is(err, fs.ErrNotExist) works.
func (e *Error) Unwrap() error { return e.Err }

// Read returns the content of the regular file at path, at most MaxSize
// bytes. what names the content in errors ("experiment", "suite").
func Read(path, what string) ([]byte, error) { return ReadLimit(path, what, MaxSize) }

// ReadLimit is Read with another limit, for inputs that chaos itself writes
// and that grow with a run (a result.json holds every second of it).
// The size and kind are checked with stat before the file is opened, the
// file is opened non-blocking, the opened descriptor is checked again (the
// path may have changed in between), and it is read through a LimitReader,
// so even a file that grows while it is read (or lies about its size, as
// /proc files do) costs at most limit bytes.
func ReadLimit(path, what string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err)), Err: unwrapPath(err)}
	}
	if err := check(path, what, st, limit); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should the path have been swapped for a FIFO since the
	// stat, opening it does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err)), Err: unwrapPath(err)}
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err)), Err: unwrapPath(err)}
	}
	if err := check(path, what, st, limit); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(min(st.Size(), limit)) + 1)
	if _, err := buf.ReadFrom(io.LimitReader(f, limit+1)); err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read the %s: %v", what, unwrapPath(err)), Err: unwrapPath(err)}
	}
	if int64(buf.Len()) > limit {
		return nil, tooBig(path, what, int64(buf.Len()), limit)
	}
	return buf.Bytes(), nil
}

// check refuses what is not a regular file, or is over limit.
func check(path, what string, st fs.FileInfo, limit int64) error {
	m := st.Mode()
	if m.IsRegular() {
		if st.Size() > limit {
			return tooBig(path, what, st.Size(), limit)
		}
		return nil
	}
	kind := "not a regular file"
	switch {
	case m.IsDir():
		kind = "a directory"
	case m&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		kind = "a socket"
	case m&fs.ModeCharDevice != 0:
		kind = "a character device"
	case m&fs.ModeDevice != 0:
		kind = "a block device"
	}
	return &Error{Path: path, Msg: fmt.Sprintf("is %s, not a file (valid: the %s as a regular file of at most %s)", kind, what, size(limit))}
}

// tooBig refuses a file of n bytes (for one read through the limit: more
// than limit, n being what was read).
func tooBig(path, what string, n, limit int64) error {
	got := size(n)
	if got == size(limit) {
		got = fmt.Sprintf("%d bytes", n)
	}
	return &Error{Path: path, Msg: fmt.Sprintf("is %s, over the %s limit on input files (valid: the %s as a regular file of at most %s)", got, size(limit), what, size(limit))}
}

// size prints a byte count for people: 8 MiB, 80.5 MiB, 912 KiB, 17 bytes.
func size(n int64) string {
	switch {
	case n >= 1<<20:
		return trim(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MiB"
	case n >= 1<<10:
		return trim(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KiB"
	}
	return fmt.Sprintf("%d bytes", n)
}

func trim(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}

// unwrapPath drops the "open path:" prefix of a *fs.PathError, since Error
// names the path already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
