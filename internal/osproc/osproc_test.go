package osproc

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"
)

func TestSignal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a child to kill is a Unix sleep here")
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if err := Signal(pid, "KILL"); err != nil {
		t.Fatalf("KILL: %v", err)
	}
	_ = cmd.Wait()
	if err := Signal(pid, "CONT"); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("a signal to a process gone: %v, want ESRCH", err)
	}
	if err := Signal(pid, "HUP"); err == nil {
		t.Fatal("an unknown signal name was sent")
	}
}

func TestOpenFileLimit(t *testing.T) {
	if n, err := OpenFileLimit(); err != nil || n <= 0 {
		t.Fatalf("OpenFileLimit() = %d, %v", n, err)
	}
}

func TestAvailable(t *testing.T) {
	err := Available()
	if (runtime.GOOS == "linux") != (err == nil) {
		t.Fatalf("Available() on %s = %v", runtime.GOOS, err)
	}
	if err != nil && !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("Available() = %v, want ErrNotAvailable", err)
	}
}
