//go:build linux

package freezer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

// forEachHierarchy runs f once per hierarchy a freeze can use here: the v1
// freezer when it is mounted, and the unified hierarchy's cgroup.freeze
// when that is mounted too (a hybrid host: f runs as on a v2 host).
func forEachHierarchy(t *testing.T, f func(t *testing.T)) {
	if os.Geteuid() != 0 {
		if os.Getenv("CHAOS_REQUIRE_DOCKER") == "1" {
			t.Fatal("making cgroups needs root (CHAOS_REQUIRE_DOCKER=1 says this must run)")
		}
		t.Skip("making cgroups needs root")
	}
	if !v1Freezer() {
		t.Run("v2", f)
		return
	}
	t.Run("v1", f)
	if !mounted(2) {
		return // v1 only: nothing else to try here
	}
	t.Run("v2", func(t *testing.T) {
		defer func(old func() bool) { v1Freezer = old }(v1Freezer)
		v1Freezer = func() bool { return false }
		f(t)
	})
}

// sleeper is a child process in a cgroup of its own (v1 freezer when the
// host mounts it, else the unified hierarchy), removed when the test ends.
type sleeper struct {
	cmd  *exec.Cmd
	cg   Cgroup
	path string
}

func newSleeper(t *testing.T) *sleeper {
	t.Helper()
	version := Hierarchy()
	var err error
	s := &sleeper{path: fmt.Sprintf("/chaos-test-%06x", rand.Uint32()&0xffffff)}
	s.cg = Cgroup{Version: version, Path: s.path}
	s.cg.Dir, err = dirOf(version, s.path)
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(s.cg.Dir, 0o755))
	s.cmd = exec.Command("sleep", "600")
	require.NoError(t, s.cmd.Start())
	t.Cleanup(func() {
		_ = os.WriteFile(filepath.Join(s.cg.Dir, control[version].file), []byte(control[version].thaw), 0)
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		_ = os.Remove(s.cg.Dir)
	})
	require.NoError(t, os.WriteFile(filepath.Join(s.cg.Dir, "cgroup.procs"), []byte(strconv.Itoa(s.cmd.Process.Pid)), 0))
	return s
}

// state reads the cgroup's freezer file as the kernel has it.
func (s *sleeper) state(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.cg.Dir, control[s.cg.Version].file))
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func (s *sleeper) target() targets.Target {
	return targets.Target{Name: "sleeper", Pid: s.cmd.Process.Pid}
}

func TestFreezeThenRollbackThaws(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		s := newSleeper(t)
		env, j := faultstest.Env(t, s.target())
		f := &Freeze{}
		require.NoError(t, f.Preflight(context.Background(), env.Targets))
		require.NoError(t, f.Inject(context.Background(), env))
		assert.Equal(t, control[s.cg.Version].freeze, s.state(t))
		assert.Contains(t, f.Mechanism(), "the process's cgroup")
		require.Len(t, j.Pending(), 1, "journaled")
		assert.Equal(t, "cgroup-thaw", j.Pending()[0].Action)

		require.NoError(t, f.Rollback(context.Background()))
		assert.Equal(t, control[s.cg.Version].thaw, s.state(t))
		assert.Empty(t, j.Pending())
		require.NoError(t, f.Rollback(context.Background()), "rollback twice is harmless")
	})
}

func TestFreezeUndoneOfflineFromTheJournal(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		s := newSleeper(t)
		env, j := faultstest.Env(t, s.target())
		require.NoError(t, (&Freeze{}).Inject(context.Background(), env))
		e := j.Pending()[0]
		faults.Forget(e) // as if the run had died
		require.NoError(t, faults.Undo(context.Background(), e, Undoers))
		assert.Equal(t, control[s.cg.Version].thaw, s.state(t))
	})
}

func TestFreezeRefusesACgroupFrozenBefore(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		s := newSleeper(t)
		require.NoError(t, s.cg.Set(context.Background(), true, Wait))
		env, j := faultstest.Env(t, s.target())
		err := (&Freeze{}).Inject(context.Background(), env)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "already frozen, not by this run")
		assert.Empty(t, j.Pending(), "nothing journaled, nothing to thaw")
	})
}

func TestFreezeRefusesTheCgroupOfChaosItself(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		env, _ := faultstest.Env(t, targets.Target{Name: "me", Pid: os.Getpid()})
		err := (&Freeze{}).Inject(context.Background(), env)
		require.Error(t, err)
		assert.True(t, errors.Is(err, targets.ErrRefused), "%v", err)
		err = (&Freeze{}).Preflight(context.Background(), []targets.Target{{Name: "web", Container: "0123"}})
		assert.True(t, errors.Is(err, targets.ErrRefused), "a Docker container is pause's: %v", err)
	})
}

func TestThawOfAGoneCgroupIsDone(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		e, _ := frozenThenGone(t)
		require.NoError(t, faults.Undo(context.Background(), e, Undoers))
	})
}

func TestThawOfACgroupMadeAgainIsNotSame(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		e, s := frozenThenGone(t)
		require.NoError(t, os.Mkdir(s.cg.Dir, 0o755))
		err := faults.Undo(context.Background(), e, Undoers)
		assert.True(t, faults.IsNotSame(err), "%v", err)
	})
}

// frozenThenGone freezes a sleeper and removes it with its cgroup, as if
// the run had died: what is left is its journal entry.
func frozenThenGone(t *testing.T) (journal.Entry, *sleeper) {
	t.Helper()
	s := newSleeper(t)
	env, j := faultstest.Env(t, s.target())
	require.NoError(t, (&Freeze{}).Inject(context.Background(), env))
	e := j.Pending()[0]
	faults.Forget(e)
	s.remove(t)
	return e, s
}

// remove thaws the sleeper, ends it and removes its cgroup (a frozen v1 task
// cannot die until thawed).
func (s *sleeper) remove(t *testing.T) {
	t.Helper()
	require.NoError(t, s.cg.Set(context.Background(), false, Wait))
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for os.Remove(s.cg.Dir) != nil {
		require.True(t, time.Now().Before(deadline), "cgroup %s not removable", s.cg.Dir)
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStoppingSeesASignalPendingOnAFrozenProcess(t *testing.T) {
	forEachHierarchy(t, func(t *testing.T) {
		s := newSleeper(t)
		require.NoError(t, s.cg.Set(context.Background(), true, Wait))
		stopping, err := s.cg.Stopping()
		require.NoError(t, err)
		assert.False(t, stopping)
		require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
		stopping, err = s.cg.Stopping()
		require.NoError(t, err)
		assert.True(t, stopping, "SIGTERM pending on a frozen process")
		require.NoError(t, s.cg.Set(context.Background(), false, Wait))
		_ = s.cmd.Wait() // thawed, it takes its SIGTERM
		n, err := s.cg.Procs()
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}
