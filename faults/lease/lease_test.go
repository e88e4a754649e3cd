package lease

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func holder(run string) Holder {
	return Holder{Key: "container:abc", Target: "model-primary-1", Run: run, Experiment: "exp", Started: time.Now()}
}

func TestLeaseIsExclusiveWhileHeld(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir, holder("run-a"))
	require.NoError(t, err)

	_, err = Acquire(dir, holder("run-b"))
	var held *HeldError
	require.ErrorAs(t, err, &held)
	assert.True(t, held.Live)
	assert.Equal(t, "run-a", held.Holder.Run)
	assert.Equal(t, os.Getpid(), held.Holder.Pid)
	assert.Contains(t, err.Error(), "target model-primary-1 is in use by run run-a")

	require.NoError(t, a.Release())
	b, err := Acquire(dir, holder("run-b"))
	require.NoError(t, err, "a released lease can be taken")
	require.NoError(t, b.Release())
	_, err = os.Stat(File(dir, "container:abc"))
	assert.True(t, os.IsNotExist(err), "a released lease leaves no file")
}

// TestKeptLeaseBlocksUntilRecovered: a run that could not undo its fault
// (or was killed) keeps its lease file without the lock; another run is
// told to recover first, and ReleaseStale by the right run frees it.
func TestKeptLeaseBlocksUntilRecovered(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir, holder("run-a"))
	require.NoError(t, err)
	require.NoError(t, a.Keep())

	h, live, ok := Holding(dir, "container:abc")
	require.True(t, ok)
	assert.False(t, live)
	assert.Equal(t, "run-a", h.Run)

	_, err = Acquire(dir, holder("run-b"))
	var held *HeldError
	require.ErrorAs(t, err, &held)
	assert.False(t, held.Live)
	assert.Contains(t, err.Error(), "chaos recover --run run-a")

	require.NoError(t, ReleaseStale(dir, "container:abc", "run-b"), "another run's lease is left alone")
	_, ok = func() (Holder, bool) { h, _, ok := Holding(dir, "container:abc"); return h, ok }()
	assert.True(t, ok)
	require.NoError(t, ReleaseStale(dir, "container:abc", "run-a"))
	_, _, ok = Holding(dir, "container:abc")
	assert.False(t, ok)
	b, err := Acquire(dir, holder("run-b"))
	require.NoError(t, err)
	require.NoError(t, b.Release())
}

func TestReleaseStaleLeavesALiveLease(t *testing.T) {
	dir := t.TempDir()
	a, err := Acquire(dir, holder("run-a"))
	require.NoError(t, err)
	defer a.Release()
	require.NoError(t, ReleaseStale(dir, "container:abc", "run-a"))
	_, live, ok := Holding(dir, "container:abc")
	assert.True(t, ok && live, "a live run's lease is never removed by recover")
}

func TestSetTakesAKeyOnce(t *testing.T) {
	dir := t.TempDir()
	s := NewSet(dir)
	require.NoError(t, s.Take(holder("run-a")))
	require.NoError(t, s.Take(holder("run-a")), "two faults of one run on one target share the lease")
	other := NewSet(dir)
	err := other.Take(holder("run-b"))
	var held *HeldError
	assert.True(t, errors.As(err, &held))
	require.NoError(t, s.Finish(true))
	require.NoError(t, other.Take(holder("run-b")))
	require.NoError(t, other.Finish(true))
}

func TestDirIsHostWideWhenItCanBe(t *testing.T) {
	t.Setenv("CHAOS_LEASE_DIR", "")
	dir, hostWide := Dir(t.TempDir())
	if os.Geteuid() != 0 {
		t.Skip("only root can make /run/chaos here")
	}
	assert.True(t, hostWide)
	assert.Equal(t, HostDir, dir)
	st, err := os.Stat(HostDir)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSticky|os.ModeDir|0o777, st.Mode()&(os.ModeSticky|os.ModeDir|os.ModePerm), "sticky and world-writable, as /tmp")
}
