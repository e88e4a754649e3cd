package journal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, dir, run string) *Journal {
	t.Helper()
	j, err := Open(dir, Meta{Run: run, Experiment: "exp-" + run})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func TestJournalLifecycle(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, "run-1")
	a, err := j.Record("pause", "model-0", "container:a", "signal", map[string]int{"pid": 1})
	require.NoError(t, err)
	b, err := j.Record("pause", "model-1", "container:b", "signal", map[string]int{"pid": 2})
	require.NoError(t, err)
	require.NoError(t, j.Done(a.ID))
	assert.Equal(t, []int{b.ID, a.ID}, ids(j.Pending()), "newest first")

	// The record is on disk before the change is made: another process sees
	// it, and sees the run is alive.
	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.True(t, left[0].Live, "the run holds its journal's lock")
	assert.Equal(t, "run-1", left[0].Meta.Run)
	assert.Equal(t, "exp-run-1", left[0].Meta.Experiment)
	assert.Equal(t, os.Getpid(), left[0].Meta.Pid)
	assert.Equal(t, []int{b.ID, a.ID}, ids(left[0].Pending))
	assert.True(t, left[0].Pending[1].Done, "a's outcome is journaled")
	assert.False(t, left[0].Pending[0].Done, "b's is not")

	_, err = Claim(left[0].Path)
	assert.ErrorIs(t, err, ErrLive, "recover cannot claim a live run's journal")

	require.NoError(t, j.Failed(b.ID, os.ErrExist))
	require.NoError(t, j.Undone(a.ID))
	require.NoError(t, j.Undone(a.ID), "undone twice is harmless")
	assert.Empty(t, j.Pending())
	require.NoError(t, j.Close())
	_, err = os.Stat(j.Path())
	assert.True(t, os.IsNotExist(err), "a journal with nothing pending is removed on close")
}

func TestJournalIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "journal")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	j := open(t, dir, "run-p")
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm(), "the folder is made private")
	st, err = os.Stat(j.Path())
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestClaimAfterDeath(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, "run-2")
	e, err := j.Record("pause", "model-0", "container:a", "signal", nil)
	require.NoError(t, err)
	require.NoError(t, j.Done(e.ID))
	require.NoError(t, j.Lease("container:a"))
	require.NoError(t, j.Close()) // as if killed: the lock goes, the file stays

	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.False(t, left[0].Live)
	assert.Equal(t, []string{"container:a"}, left[0].Leases)

	c, err := Claim(left[0].Path)
	require.NoError(t, err)
	_, err = Claim(left[0].Path)
	assert.ErrorIs(t, err, ErrLive, "two recovers never act on one journal at once")
	require.NoError(t, c.Resolve(e.ID, ""))
	require.NoError(t, c.Close())
	left, err = Scan(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "the file goes once its last entry is undone")
}

func TestScanIgnoresTornLastLine(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, "run-3")
	_, err := j.Record("pause", "model-0", "", "signal", nil)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	f, err := os.OpenFile(filepath.Join(dir, "run-3.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString(`{"op":"do","id":2,"act`) // crash mid-write
	require.NoError(t, f.Close())
	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	require.NoError(t, left[0].Err)
	assert.Len(t, left[0].Pending, 1)
}

// TestUnreadableJournalsAreSkippedNotFatal: each bad journal is reported
// with why, and the good one beside them is still read.
func TestUnreadableJournalsAreSkippedNotFatal(t *testing.T) {
	dir := t.TempDir()
	good := open(t, dir, "good")
	_, err := good.Record("pause", "model-0", "", "signal", nil)
	require.NoError(t, err)
	require.NoError(t, good.Close())

	require.NoError(t, os.Mkdir(filepath.Join(dir, "folder.jsonl"), 0o700))
	long := `{"op":"open","meta":{"version":2,"run":"long"}}` + "\n" + `{"op":"do","data":"` + strings.Repeat("x", 4<<20) + `"}` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "long.jsonl"), []byte(long), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "open.jsonl"), []byte(`{"op":"open","meta":{"version":2,"run":"open"}}`+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "old.jsonl"), []byte(`{"op":"do","id":1,"run":"old","action":"signal"}`+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "v1.jsonl"), []byte(`{"op":"open","meta":{"version":1,"run":"v1"}}`+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mixed.jsonl"), []byte(`{"op":"open","meta":{"version":2,"run":"mixed"}}`+"\n"+`{"op":"do","id":1,"run":"other","action":"signal"}`+"\n"), 0o600))
	require.NoError(t, os.Symlink(good.Path(), filepath.Join(dir, "link.jsonl")))

	left, err := Scan(dir)
	require.NoError(t, err)
	why := map[string]string{}
	for _, l := range left {
		if l.Err != nil {
			why[l.Run] = l.Err.Error()
			continue
		}
		why[l.Run] = "ok"
	}
	assert.Equal(t, "ok", why["good"])
	assert.Contains(t, why["folder"], "not a regular file")
	assert.Contains(t, why["long"], "a line over")
	assert.Contains(t, why["open"], "lets others read or write it")
	assert.Contains(t, why["old"], "no header line")
	assert.Contains(t, why["v1"], "version 1")
	assert.Contains(t, why["mixed"], `entry of run "other"`)
	assert.Contains(t, why["link"], "open journal") // O_NOFOLLOW
	assert.Len(t, why, 8)
}

func TestEmptyJournalIsClaimedAndRemoved(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "died-at-start.jsonl")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	c, err := Claim(path)
	require.NoError(t, err)
	assert.Empty(t, c.Pending)
	require.NoError(t, c.Close())
	_, err = os.Stat(path)
	assert.True(t, os.IsNotExist(err))
}

func TestOpenRefusesToReuseARun(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, "same")
	_, err := j.Record("x", "y", "", "signal", nil)
	require.NoError(t, err)
	_, err = Open(dir, Meta{Run: "same"})
	assert.Error(t, err)
}

func ids(es []Entry) []int {
	out := make([]int, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
