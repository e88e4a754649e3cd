package termsize

import (
	"os"

	"golang.org/x/sys/windows"
)

// Columns is the width of the console window f is; an error when f is not
// a console.
func Columns(f *os.File) (int, error) {
	var info windows.ConsoleScreenBufferInfo
	if err := windows.GetConsoleScreenBufferInfo(windows.Handle(f.Fd()), &info); err != nil {
		return 0, err
	}
	return int(info.Window.Right-info.Window.Left) + 1, nil
}
