//go:build unix

package main

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// rusageSelf returns this process's CPU time and peak RSS in MB.
func rusageSelf() (time.Duration, float64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return cpu, rssMB(int64(ru.Maxrss))
}

// peakRSS is an exited child's peak RSS in MB.
func peakRSS(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return rssMB(int64(ru.Maxrss))
	}
	return 0
}

// rssMB converts ru_maxrss: kilobytes on Linux and the BSDs, bytes on macOS.
func rssMB(maxrss int64) float64 {
	if runtime.GOOS == "darwin" || runtime.GOOS == "ios" {
		return float64(maxrss) / (1 << 20)
	}
	return float64(maxrss) / 1024
}
