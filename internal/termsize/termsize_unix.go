//go:build unix

package termsize

import (
	"os"

	"golang.org/x/sys/unix"
)

// Columns is the width of the terminal f is; an error when f is not one.
func Columns(f *os.File) (int, error) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0, err
	}
	return int(ws.Col), nil
}
