//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// reapChildren waits for every child that exits, so zombies do not pile up
// when this process is PID 1 of a shared process namespace.
func reapChildren() {
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)
	go func() {
		for range chld {
			for {
				var ws syscall.WaitStatus
				pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
				if pid <= 0 || err != nil {
					break
				}
			}
		}
	}()
}
