//go:build unix

// Command killer is the test image of container-kill: run as kill (its
// name), it is a small kill(1) (kill -l; kill -s SIGNAL PID); run as
// anything else, it waits for TERM, QUIT or INT and exits 1, and ignores
// HUP, so a container-kill with HUP finds nothing restarted.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
)

var signals = map[string]syscall.Signal{"TERM": syscall.SIGTERM, "QUIT": syscall.SIGQUIT, "INT": syscall.SIGINT,
	"HUP": syscall.SIGHUP, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "KILL": syscall.SIGKILL}

func main() {
	if filepath.Base(os.Args[0]) == "kill" {
		os.Exit(kill(os.Args[1:]))
	}
	signal.Ignore(syscall.SIGHUP)
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGINT)
	fmt.Println("waiting")
	fmt.Println("got", <-c)
	os.Exit(1)
}

func kill(args []string) int {
	switch {
	case len(args) == 1 && args[0] == "-l":
		fmt.Println("TERM QUIT INT HUP USR1 USR2 KILL")
		return 0
	case len(args) == 3 && args[0] == "-s":
		sig, ok := signals[args[1]]
		pid, err := strconv.Atoi(args[2])
		if !ok || err != nil {
			fmt.Fprintln(os.Stderr, "kill: bad signal or pid")
			return 2
		}
		if err := syscall.Kill(pid, sig); err != nil {
			fmt.Fprintln(os.Stderr, "kill:", err)
			return 1
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "usage: kill -l | kill -s SIGNAL PID")
	return 2
}
