// Package clitest runs the chaos command line as a child process for tests:
// the package main tests (which re-execute their own test binary) and the
// end-to-end test packages beside it (which build the binary) share it, so
// they drive real processes and send them real signals the same way.
package clitest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/faultstest"
)

// Buffer is a bytes.Buffer safe to read while a process writes to it (the
// fault tests' log buffer, one type for both).
type Buffer = faultstest.Buffer

// Command prepares exe as a child process with env added to this process's
// environment, its output captured, and killed after 4 minutes or at the
// test's end.
func Command(t testing.TB, exe string, env []string, args ...string) (*exec.Cmd, *Buffer, *Buffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	return cmd, &out, &errb
}

// Run runs a prepared command to its end and returns its exit code and
// output; a command that could not run at all fails the test.
func Run(t testing.TB, cmd *exec.Cmd, out, errb *Buffer) (int, string, string) {
	t.Helper()
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		require.NoError(t, err)
	}
	return ExitCode(err), out.String(), errb.String()
}

// ExitCode is the exit code a finished command's error carries: 0 for
// none, -1 when it did not exit on its own.
func ExitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// WaitFor polls cond every 50 ms and fails the test after 30 s.
func WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var runIDRE = regexp.MustCompile(`preflight \(run (\S+),`)

// RunID waits for the id a run prints at preflight on its stderr.
func RunID(t testing.TB, errb *Buffer) string {
	t.Helper()
	var id string
	WaitFor(t, "the run id", func() bool {
		m := runIDRE.FindStringSubmatch(errb.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	return id
}

// ExitInconclusive is chaos's exit code for a run in which chaos itself was
// starved, so nothing was judged: CI is asked to run it again.
const ExitInconclusive = 5

// UntilJudged calls run (a CLI run returning its exit code, stdout and
// stderr) and calls it again, up to three times in all, while it exits 5:
// the retry exit 5 asks CI for, not a verdict to assert on.
func UntilJudged(t testing.TB, run func() (int, string, string)) (int, string, string) {
	t.Helper()
	var code int
	var out, stderr string
	for try := range 3 {
		code, out, stderr = run()
		if code != ExitInconclusive {
			break
		}
		t.Logf("try %d: inconclusive (chaos starved), running again", try+1)
	}
	return code, out, stderr
}
