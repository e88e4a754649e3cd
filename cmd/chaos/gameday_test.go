package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/experiments/gameday"
)

// TestGamedayBundledSuite runs the bundled local suite (examples/gameday/
// local.yaml) against the example stack: it holds; with the breaker removed
// the game-day exits 1 and names the experiment that failed.
func TestGamedayBundledSuite(t *testing.T) {
	t.Run("holds", func(t *testing.T) {
		t.Parallel()
		reports := t.TempDir()
		code, out, stderr := chaos(t, "gameday", "../../examples/gameday/local.yaml", "--report-dir", reports, "-q", "--state-dir", t.TempDir())
		require.Equal(t, 0, code, "%s\n%s", out, stderr)
		assert.Contains(t, out, "gameday weekly-local: HELD (exit 0")
		for _, name := range []string{"slow-primary-trips-breaker", "hung-replica-is-ejected", "overload-storm-sheds-low-priority"} {
			assert.Contains(t, out, name)
		}
		entries, err := gameday.ReadIndex(reports)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		require.Len(t, entries[0].Experiments, 3)
		for _, e := range entries[0].Experiments {
			assert.Equal(t, "held", e.Verdict, e.Name)
			assert.NotNil(t, e.TimeToRecover, "%s measured a time to recover", e.Name)
			assert.FileExists(t, filepath.Join(reports, e.Report))
		}
		assert.FileExists(t, filepath.Join(reports, gameday.IndexHTML))
		assert.FileExists(t, filepath.Join(reports, entries[0].Dir, "junit.xml"))
		assert.Contains(t, stderr, "chaos: reports in "+filepath.Join(reports, entries[0].Dir))
	})
	t.Run("no-breaker fails", func(t *testing.T) {
		t.Parallel()
		// the first experiment fails against no-breaker; the suite stops there
		dir := t.TempDir()
		suite := filepath.Join(dir, "suite.yaml")
		abs, err := filepath.Abs("../../examples/experiments/local")
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(suite, []byte(`version: chaos/v1
kind: suite
name: crippled
variant: [no-breaker]
experiments:
  - `+filepath.Join(abs, "slow-primary.yaml")+`
  - {file: `+filepath.Join(abs, "hung-replica.yaml")+`}
`), 0o644))
		code, out, stderr := chaos(t, "gameday", suite, "-q", "--state-dir", t.TempDir())
		require.Equal(t, 1, code, "%s\n%s", out, stderr)
		assert.Contains(t, out, "gameday crippled: FAILED (exit 1")
		assert.Regexp(t, `did not hold: slow-primary-trips-breaker \(failed: checks? "breaker opens"`, out)
		assert.Contains(t, out, "not run: hung-replica-is-ejected: slow-primary-trips-breaker did not hold and continue_on_failure is off")
		entries, err := gameday.ReadIndex(filepath.Join(dir, gameday.DefaultReportDir))
		require.NoError(t, err)
		assert.Equal(t, "failed", entries[0].Verdict)
	})
}

// stopSuite writes a suite around longStop's experiment (a sleeping process
// stopped for a minute while load goes to a loopback server).
func stopSuite(t *testing.T) (file string, pid int) {
	t.Helper()
	exp, pid := longStop(t)
	file = filepath.Join(filepath.Dir(exp), "suite.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
kind: suite
name: nightly-stop
experiments:
  - `+filepath.Base(exp)+`
`), 0o644))
	return file, pid
}

// TestGamedayScheduledSIGTERMRollsBack starts the long-lived scheduler with
// a run right away, reads chaos's own metrics while the fault is on, then
// sends SIGTERM: the run rolls back before the process exits.
func TestGamedayScheduledSIGTERMRollsBack(t *testing.T) {
	file, pid := stopSuite(t)
	state := t.TempDir()
	addr := freeAddr(t)
	cmd, out, errb := chaosCmd(t, "gameday", file, "--schedule", "0 3 * * MON", "--run-now", "--state-dir", state,
		"--metrics-listen", addr)
	require.NoError(t, cmd.Start())
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })
	require.Equal(t, "T", procState(pid))
	assert.Contains(t, errb.String(), `game-day nightly-stop on schedule "0 3 * * MON"`)
	assert.Contains(t, errb.String(), "gameday: next run at ")

	r, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	assert.Contains(t, string(body), `chaos_fault_active{experiment="long-stop",fault="pause",kind="process"} 1`)
	assert.Regexp(t, `chaos_fault_start_timestamp_seconds\{experiment="long-stop",fault="pause",kind="process"\} 1\.\d+e\+09`, string(body))
	assert.Contains(t, string(body), `chaos_experiment_running{experiment="long-stop"} 1`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, errb.String())
	assert.Equal(t, 3, ee.ExitCode(), "exit 3: the run in progress was aborted\n%s", errb.String())
	assert.Contains(t, errb.String(), "letting the run in progress roll back and finish")
	assert.Contains(t, errb.String(), "rolled back pause")
	assert.NotEqual(t, "T", procState(pid), "SIGCONT was sent on SIGTERM")
	assert.Contains(t, out.String(), "gameday nightly-stop: ABORTED (exit 3")
	left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	assert.Empty(t, left, "nothing left for recover")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

func TestGamedayInvalidSuiteIsExit2(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("version: chaos/v1\nname: bad\nload: {url: nope, rate: 1/s}\nfaults: []\n"), 0o644))
	suite := filepath.Join(dir, "suite.yaml")
	require.NoError(t, os.WriteFile(suite, []byte(`version: chaos/v1
kind: suite
name: broken
schedule: "every monday"
cooldown: {for: 1m, within: 0s}
experiments:
  - bad.yaml
  - missing.yaml
`), 0o644))
	code, _, stderr := chaos(t, "gameday", suite)
	assert.Equal(t, 2, code)
	for _, want := range []string{
		suite + `:4:11: schedule: "every monday" is not a cron schedule`,
		suite + `:5:29: cooldown.within: must be more than 0s`,
		filepath.Join(dir, "bad.yaml") + `:3:`,
		suite + `:8:5: experiments[1].file: cannot read the experiment`,
	} {
		assert.Contains(t, stderr, want)
	}
	code, _, stderr = chaos(t, "validate", suite)
	assert.Equal(t, 2, code, "validate reads suites too")
	assert.Contains(t, stderr, "cannot read the experiment")
	code, out, _ := chaos(t, "validate", "../../examples/gameday")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "local.yaml: valid")
	code, _, stderr = chaos(t, "gameday", "../../examples/gameday/local.yaml", "--schedule", "61 * * * *")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--schedule: \"61 * * * *\" is not a cron schedule")
}

// The bundled compose game-day (examples/gameday/compose.yaml) runs in
// cmd/chaos/e2ecompose's TestCompose, on the stack its other subtests use.
