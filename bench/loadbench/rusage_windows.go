package main

import (
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// rusageSelf returns this process's CPU time; its peak RSS is not
// measured on Windows (0).
func rusageSelf() (time.Duration, float64) {
	var c, e, k, u windows.Filetime
	if windows.GetProcessTimes(windows.CurrentProcess(), &c, &e, &k, &u) != nil {
		return 0, 0
	}
	// a Filetime of a CPU time counts 100 ns intervals
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return time.Duration((ticks(k) + ticks(u)) * 100), 0
}

// peakRSS is not measured on Windows (0).
func peakRSS(*os.ProcessState) float64 { return 0 }
