//go:build linux

package process

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/faults"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

func child(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

func state(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

func TestProcessStopThenRollbackContinues(t *testing.T) {
	cmd := child(t)
	pid := cmd.Process.Pid
	env, j := faultstest.Env(t, targets.Target{Name: "sleeper", Pid: pid})
	p := &Process{Signal: "STOP", Restart: true}
	require.NoError(t, p.Inject(context.Background(), env))
	assert.Equal(t, "T", state(pid))
	require.Len(t, j.Pending(), 1, "journaled")
	require.NoError(t, p.Rollback(context.Background()))
	assert.Eventually(t, func() bool { return state(pid) != "T" }, 5*time.Second, time.Millisecond)
	assert.Empty(t, j.Pending())
	require.NoError(t, p.Rollback(context.Background()), "rollback twice is harmless")
}

func TestProcessKillRestartsOnRollback(t *testing.T) {
	cmd := child(t)
	restarted := false
	env, _ := faultstest.Env(t, targets.Target{Name: "sleeper", Pid: cmd.Process.Pid, Restart: func(context.Context) error {
		restarted = true
		return nil
	}})
	p := &Process{Signal: "KILL", Restart: true}
	require.NoError(t, p.Inject(context.Background(), env))
	_ = cmd.Wait()
	require.NoError(t, p.Rollback(context.Background()))
	assert.True(t, restarted)
}

func TestProcessOfflineUndoAfterCrash(t *testing.T) {
	cmd := child(t)
	pid := cmd.Process.Pid
	env, j := faultstest.Env(t, targets.Target{Name: "sleeper", Pid: pid})
	p := &Process{Signal: "STOP"}
	require.NoError(t, p.Inject(context.Background(), env))
	pending := j.Pending()
	require.Len(t, pending, 1)
	faults.Forget(pending[0]) // as if the process that injected had died
	require.NoError(t, UndoSignal(context.Background(), pending[0]))
	assert.Eventually(t, func() bool { return state(pid) != "T" }, 5*time.Second, time.Millisecond)
}

func TestProcessUndoSkipsReusedPid(t *testing.T) {
	cmd := child(t)
	pid := cmd.Process.Pid
	start, err := faults.StartTime(pid)
	require.NoError(t, err)
	err = sendIfSame(signalUndo{Pid: pid, StartTime: start + 1, Signal: "STOP"})
	require.Error(t, err)
	assert.True(t, faults.IsNotSame(err), "a different start time means another process: reported")
	assert.NotEqual(t, "T", state(pid), "and left alone")
	require.NoError(t, sendIfSame(signalUndo{Pid: 1 << 22, Signal: "CONT"}), "a process that is gone counts as undone")
}

// TestPlantedSignalEntryDoesNothing: entries a run never wrote — another
// signal than CONT, a pid its lease key does not name, pid 1 — are refused
// by the offline undoer and nothing is sent.
func TestPlantedSignalEntryDoesNothing(t *testing.T) {
	cmd := child(t)
	pid := cmd.Process.Pid
	start, err := faults.StartTime(pid)
	require.NoError(t, err)
	init1, err := faults.StartTime(1)
	require.NoError(t, err)
	for name, e := range map[string]journal.Entry{
		"SIGKILL asked":      {Run: "r", Action: "signal", Key: faults.PidKey(pid, start), Data: []byte(fmt.Sprintf(`{"pid":%d,"start_time":%d,"signal":"KILL"}`, pid, start))},
		"key of another pid": {Run: "r", Action: "signal", Key: faults.PidKey(pid+1, start), Data: []byte(fmt.Sprintf(`{"pid":%d,"start_time":%d,"signal":"CONT"}`, pid, start))},
		"no start time":      {Run: "r", Action: "signal", Key: faults.PidKey(pid, 0), Data: []byte(fmt.Sprintf(`{"pid":%d,"signal":"CONT"}`, pid))},
		"pid 1":              {Run: "r", Action: "signal", Key: faults.PidKey(1, init1), Data: []byte(fmt.Sprintf(`{"pid":1,"start_time":%d,"signal":"CONT"}`, init1))},
	} {
		err := UndoSignal(context.Background(), e)
		require.Error(t, err, name)
		assert.True(t, faults.IsNotSame(err), "%s: %v", name, err)
	}
	require.NoError(t, syscall.Kill(pid, 0), "the process lives")
	assert.NotEqual(t, "T", state(pid))
}

// TestStopRefusesAStoppedProcess: a process someone else stopped is not
// stopped again, and so never continued by this run's rollback.
func TestStopRefusesAStoppedProcess(t *testing.T) {
	cmd := child(t)
	pid := cmd.Process.Pid
	require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	require.Eventually(t, func() bool { return state(pid) == "T" }, 5*time.Second, time.Millisecond)
	env, j := faultstest.Env(t, targets.Target{Name: "sleeper", Pid: pid})
	p := &Process{Signal: "STOP"}
	err := p.Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already stopped, not by this run")
	assert.Empty(t, j.Pending())
	require.NoError(t, p.Rollback(context.Background()))
	assert.Equal(t, "T", state(pid), "someone else's stop stays")
}

func TestProcessValidate(t *testing.T) {
	assert.Empty(t, (&Process{Signal: "stop"}).Validate())
	ps := (&Process{Signal: "HUP"}).Validate()
	require.Len(t, ps, 1)
	assert.Equal(t, "signal", ps[0].Field)
	assert.Contains(t, ps[0].Msg, "valid: STOP, CONT, KILL, TERM, INT")
}

func TestProcessTargetWithoutPid(t *testing.T) {
	env, j := faultstest.Env(t, targets.Target{Name: "http://x"})
	err := (&Process{Signal: "STOP"}).Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "has no process")
	assert.Empty(t, j.Pending(), "nothing journaled, nothing applied")
}
