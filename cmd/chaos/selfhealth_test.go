//go:build unix

package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/report"
)

// selfHealthRun runs an experiment against a loopback server — 50 req/s,
// an 8 s fault (SIGSTOP on a sleeping bystander) with an SLO check during
// it and one in recovery — and, when stopChaos, stops the chaos process
// itself from outside for 3 s a second and a half into the fault. It
// returns the exit code and the report.
func selfHealthRun(t *testing.T, stopChaos bool) (int, *report.Report, string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	sleep := exec.Command("sleep", "300")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	dir := t.TempDir()
	file := filepath.Join(dir, "self.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: self-health
load: {url: "`+srv.URL+`/", method: GET, rate: 50/s}
steady_state: {for: 2s, slo: {p95: 300ms, error_rate: 1%}}
faults:
  - {name: bystander-paused, kind: process, target: {pid: `+strconv.Itoa(sleep.Process.Pid)+`}, params: {signal: STOP}, for: 8s}
checks:
  - {name: fast during the fault, kind: slo, during: bystander-paused, p95: 300ms, error_rate: 1%}
  - {name: fast in recovery, kind: slo, during: recovery, p95: 300ms, error_rate: 1%}
recovery: {for: 3s}
`), 0o644))
	out := filepath.Join(dir, "out")
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", filepath.Join(dir, "state"), "--seed", "5", "--report-dir", out)
	require.NoError(t, cmd.Start())
	if stopChaos {
		waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })
		time.Sleep(1500 * time.Millisecond)
		require.NoError(t, cmd.Process.Signal(syscall.SIGSTOP))
		time.Sleep(3 * time.Second)
		require.NoError(t, cmd.Process.Signal(syscall.SIGCONT))
	}
	err := cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, errb.String())
	}
	reps, err := report.ReadFile(filepath.Join(out, "result.json"))
	require.NoError(t, err, errb.String())
	require.Len(t, reps, 1)
	return code, reps[0], errb.String()
}

// selfFigures sums up chaos's own health in a report for the log.
func selfFigures(r *report.Report) string {
	var lag, tick, wait float64
	for _, s := range r.Self.Seconds {
		if s.OwnLag != nil {
			lag = max(lag, s.OwnLag.P99)
		}
		tick, wait = max(tick, s.TickLate), max(wait, s.RunQueueWait)
	}
	return fmt.Sprintf("worst second: own send lag p99 %.1fms, tick late %.1fms, run-queue wait %.1f%%; stalls %v", lag, tick, 100*wait, r.Self.Stalls)
}

// TestStarvedChaosIsInconclusive stops chaos itself (SIGSTOP, 3 s) in the
// middle of a fault: the check of the fault's window is inconclusive with
// the measured send lag and gap in its reason, not failed; the recovery
// check, whose window was clean, is judged; the run exits 5.
func TestStarvedChaosIsInconclusive(t *testing.T) {
	code, r, stderr := selfHealthRun(t, true)
	t.Log(selfFigures(r))
	require.Equal(t, 5, code, stderr)
	assert.Equal(t, "inconclusive", r.Verdict)
	require.Len(t, r.Checks, 2)
	during, recovery := r.Checks[0], r.Checks[1]
	t.Logf("%s: %s", during.Name, during.Reason)
	assert.Equal(t, "inconclusive", during.Status(), "%+v", during)
	assert.False(t, during.Held)
	assert.Contains(t, during.Reason, "inconclusive: chaos was starved: own send lag p99 ")
	assert.Regexp(t, `a [0-9.]+s gap at \+[0-9.]+s in which chaos did not run`, during.Reason)
	assert.Contains(t, during.Reason, "cannot be trusted")
	assert.Equal(t, "held", recovery.Status(), "the recovery window was clean: %+v", recovery)
	require.NotEmpty(t, r.Self.Stalls, "the stop is listed as a stall")
	assert.InDelta(t, 3.0, float64(r.Self.Stalls[0].To-r.Self.Stalls[0].From), 0.6)
	assert.Contains(t, stderr, "chaos itself did not run for")
}

// TestHealthyChaosIsJudged is the same run without the stop: on this
// 2-core machine, with other tests running beside it, no bound fires and
// the run exits 0.
func TestHealthyChaosIsJudged(t *testing.T) {
	code, r, stderr := selfHealthRun(t, false)
	t.Log(selfFigures(r))
	for _, c := range r.Checks {
		assert.Equal(t, "held", c.Status(), "%s: %s", c.Name, c.Reason)
	}
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, r.Self.Stalls)
}

// TestReportExitCodeInconclusive: `chaos report --exit-code` gives a saved
// inconclusive run's 5, and a failed run beside it wins with 1.
func TestReportExitCodeInconclusive(t *testing.T) {
	inconclusive := "../../verify/report/testdata/inconclusive-result.json"
	code, out, stderr := chaos(t, "report", inconclusive, "--exit-code")
	require.Equal(t, 5, code, stderr)
	assert.Contains(t, out, "INCONCLUSIVE")
	code, _, stderr = chaos(t, "report", inconclusive, fixtureResult, "--exit-code")
	assert.Equal(t, 1, code, stderr)
}
