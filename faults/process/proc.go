package process

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/osproc"
)

// sendIfSame signals u.Pid only if it is still the process that was hit: a
// process that is gone counts as already undone, a reused pid (another start
// time) is a NotSameError and is not signalled.
func sendIfSame(u signalUndo) error {
	start, err := faults.StartTime(u.Pid)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if start != u.StartTime || u.Pid <= 1 {
		return &faults.NotSameError{What: fmt.Sprintf("pid %d", u.Pid), Why: fmt.Sprintf("started at tick %d, the journal says %d", start, u.StartTime)}
	}
	if err := osproc.Signal(u.Pid, u.Signal); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send SIG%s to pid %d: %w", u.Signal, u.Pid, err)
	}
	if u.Signal == "CONT" {
		// Confirm: a rollback is done when the process runs again.
		deadline := time.Now().Add(time.Second)
		for procState(u.Pid) == "T" && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// stopped waits until the process is in the stopped state (T in
// /proc/PID/stat): a signal is delivered when the process is next scheduled,
// so the fault is confirmed rather than assumed.
func stopped(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if procState(pid) == "T" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
}

func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 >= len(s) {
		return ""
	}
	return s[i+2 : i+3]
}
