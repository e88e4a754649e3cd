package run

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/stack"
	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/journal"
)

func TestMain(m *testing.M) {
	stack.MaybeRunRole()
	os.Exit(m.Run())
}

// sleeper starts a child process a fault can signal, and reports its state
// letter from /proc (S sleeping, T stopped).
func sleeper(t *testing.T) (pid int, state func() string) {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Kill)
		_ = cmd.Wait()
	})
	pid = cmd.Process.Pid
	return pid, func() string {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return "gone"
		}
		s := string(b)
		return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
	}
}

// server answers 200 until failing is set, then 500.
func server(t *testing.T, failing *atomic.Bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// faultWatch synchronises a test on the engine's OnFault hook: when the
// fault goes on, it watches the target's state until the target is seen
// stopped (then calls then, if set) or the fault goes off.
type faultWatch struct {
	state func() string
	then  func()
	on    atomic.Bool
	off   chan struct{}
	done  chan bool // whether the target was seen stopped while the fault was on
}

func watchFault(state func() string) *faultWatch {
	return &faultWatch{state: state, off: make(chan struct{}), done: make(chan bool, 1)}
}

// onFault is the engine's hook. "on" comes just before the fault is
// injected and "off" once it is rolled back, both on the engine's goroutine.
func (w *faultWatch) onFault(_, _ string, on bool, _ time.Time) {
	if !on {
		close(w.off)
		return
	}
	w.on.Store(true)
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			if w.state() == "T" {
				if w.then != nil {
					w.then()
				}
				w.done <- true
				return
			}
			select {
			case <-w.off:
				w.done <- false
				return
			case <-tick.C:
			}
		}
	}()
}

// stoppedWhileOn reports whether the target was seen stopped between the
// fault going on and going off; call it after Run returned.
func (w *faultWatch) stoppedWhileOn() bool {
	if !w.on.Load() {
		return false // the fault never went on
	}
	return <-w.done
}

func parse(t *testing.T, yaml string) *experiments.Experiment {
	t.Helper()
	exp, err := experiments.Parse("test.yaml", []byte(yaml), experiments.DefaultRegistry())
	require.NoError(t, err)
	return exp
}

func stopExperiment(url string, pid int, extra string) string {
	return `version: chaos/v1
name: stop-a-process
stack: {vars: {svc: "` + url + `"}}
load: {url: "${svc}/", method: GET, rate: 50/s, timeout: 2s}
steady_state: {for: 1s, slo: {error_rate: 1%}}
faults:
  - {name: pause, kind: process, target: {pid: ` + strconv.Itoa(pid) + `}, params: {signal: STOP}, for: 2s}
checks:
  - {name: no-errors, kind: slo, during: pause, error_rate: 1%}
` + extra
}

func TestRunHeldRollsBackAndLeavesNoJournal(t *testing.T) {
	var failing atomic.Bool
	srv := server(t, &failing)
	pid, state := sleeper(t)
	exp := parse(t, stopExperiment(srv.URL, pid, ""))
	dir := t.TempDir()
	var stderr bytes.Buffer
	w := watchFault(state)
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: dir, Stderr: &stderr, OnFault: w.onFault})
	require.NoError(t, err, stderr.String())
	assert.Equal(t, ExitHeld, rep.ExitCode)
	assert.True(t, w.stoppedWhileOn(), "the process is stopped while the fault is on")
	assert.NotEqual(t, "T", state(), "rollback sent CONT")
	left, err := journal.Scan(JournalDir(dir))
	require.NoError(t, err)
	assert.Empty(t, left, "a run that rolled back leaves no journal")
	require.Len(t, rep.Checks, 1)
	assert.True(t, rep.Checks[0].Held, rep.Checks[0].Reason)
	assert.Equal(t, []string{"pid " + strconv.Itoa(pid)}, rep.Faults[0].Targets)
}

func TestSteadyStateFailureInjectsNothing(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv := server(t, &failing)
	pid, state := sleeper(t)
	exp := parse(t, stopExperiment(srv.URL, pid, ""))
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.Equal(t, ExitFailed, rep.ExitCode)
	assert.Contains(t, err.Error(), "nothing was injected")
	assert.False(t, rep.Faults[0].Injected)
	assert.NotEqual(t, "T", state())
}

func TestAbortConditionStopsAndRollsBack(t *testing.T) {
	var failing atomic.Bool
	srv := server(t, &failing)
	pid, state := sleeper(t)
	exp := parse(t, strings.Replace(stopExperiment(srv.URL, pid, "abort: [{when: error_rate > 50%, for: 1s}]\n"), "for: 2s", "for: 30s", 1))
	// The server fails once the fault is on: the steady state held, the
	// abort condition is met during the fault.
	onFault := func(_, _ string, on bool, _ time.Time) { failing.Store(on) }
	start := time.Now()
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: t.TempDir(), OnFault: onFault})
	require.Error(t, err)
	assert.Equal(t, ExitAborted, rep.ExitCode)
	assert.Contains(t, err.Error(), "error_rate > 50%")
	assert.Less(t, time.Since(start), 20*time.Second, "the abort cut the 30s fault short")
	assert.NotEqual(t, "T", state(), "the aborted run rolled back")
}

func TestCancelMidFaultRollsBack(t *testing.T) {
	var failing atomic.Bool
	srv := server(t, &failing)
	pid, state := sleeper(t)
	exp := parse(t, strings.Replace(stopExperiment(srv.URL, pid, ""), "for: 2s", "for: 60s", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel once the target is seen stopped: mid-fault, after injection.
	w := watchFault(state)
	w.then = cancel
	rep, err := Run(ctx, exp, Options{Seed: 1, StateDir: t.TempDir(), OnFault: w.onFault})
	require.Error(t, err)
	assert.Equal(t, ExitAborted, rep.ExitCode)
	assert.True(t, w.stoppedWhileOn(), "cancelled while the process was stopped")
	assert.True(t, rep.Faults[0].Injected)
	assert.NotEqual(t, "T", state())
}

func TestInjectFailureIsExit4AndHalfAppliedIsUndone(t *testing.T) {
	var failing atomic.Bool
	srv := server(t, &failing)
	pid, state := sleeper(t)
	// Two faults at once: a STOP that works, then a latency fault on a target
	// with no proxy in front, which cannot be injected: the STOP must be undone.
	exp2 := parse(t, strings.Replace(stopExperiment(srv.URL, pid, ""), "faults:\n", "faults:\n  - {name: slow, kind: latency, target: {pid: "+strconv.Itoa(pid)+"}, params: {delay: 1s}, at: 100ms, for: 2s}\n", 1))
	dir := t.TempDir()
	rep, err := Run(context.Background(), exp2, Options{Seed: 1, StateDir: dir})
	require.Error(t, err)
	assert.Equal(t, ExitTool, rep.ExitCode)
	assert.Contains(t, err.Error(), "no fault proxy")
	assert.NotEqual(t, "T", state())
	left, _ := journal.Scan(JournalDir(dir))
	assert.Empty(t, left)
}

func TestUnknownTargetIsInvalid(t *testing.T) {
	exp := parse(t, `version: chaos/v1
name: nothing-there
stack: {vars: {svc: "http://127.0.0.1:1"}}
load: {url: "${svc}/", rate: 10/s}
faults:
  - {name: pause, kind: process, target: {process: no-such-process-anywhere}, for: 1s}
`)
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.Equal(t, ExitInvalid, rep.ExitCode)
	assert.Contains(t, err.Error(), "matches nothing")
}

func TestUnknownVariableIsInvalid(t *testing.T) {
	_, err := experiments.Parse("test.yaml", []byte(`version: chaos/v1
name: bad-var
load: {url: "${gatewy}/v1", rate: 10/s}
faults:
  - {name: pause, kind: process, target: {pid: 1}, for: 1s}
`), experiments.DefaultRegistry())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml:3:13: load.url")
}

func TestDryRunTouchesNothing(t *testing.T) {
	pid, state := sleeper(t)
	exp := parse(t, stopExperiment("http://127.0.0.1:1", pid, ""))
	var out bytes.Buffer
	dir := t.TempDir()
	rep, err := Run(context.Background(), exp, Options{Seed: 1, DryRun: true, StateDir: dir, Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, ExitHeld, rep.ExitCode)
	assert.Contains(t, out.String(), "pause: process on pid")
	assert.NotEqual(t, "T", state())
	_, statErr := os.Stat(filepath.Join(dir, "journal"))
	assert.True(t, os.IsNotExist(statErr), "dry run writes no journal")
}
