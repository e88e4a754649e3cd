package journal

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJournalLifecycle(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, "run-1")
	require.NoError(t, err)
	a, err := j.Record("pause", "model-0", "signal", map[string]int{"pid": 1})
	require.NoError(t, err)
	b, err := j.Record("pause", "model-1", "signal", map[string]int{"pid": 2})
	require.NoError(t, err)
	assert.Equal(t, []int{b.ID, a.ID}, ids(j.Pending()), "newest first")

	// The record is on disk before the change is made: another process sees it.
	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Equal(t, "run-1", left[0].Run)
	assert.Equal(t, []int{b.ID, a.ID}, ids(left[0].Pending))

	require.NoError(t, j.Undone(b.ID))
	require.NoError(t, j.Undone(b.ID), "undone twice is harmless")
	require.NoError(t, j.Undone(a.ID))
	require.NoError(t, j.Close())
	_, err = os.Stat(j.Path())
	assert.True(t, os.IsNotExist(err), "a journal with nothing pending is removed on close")
}

func TestJournalKeptWhenPending(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, "run-2")
	require.NoError(t, err)
	e, err := j.Record("pause", "model-0", "signal", nil)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)

	require.NoError(t, MarkUndone(left[0].Path, e.ID))
	left, err = Scan(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "the file goes once its last entry is undone")
}

func TestScanIgnoresTornLastLine(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, "run-3")
	require.NoError(t, err)
	_, err = j.Record("pause", "model-0", "signal", nil)
	require.NoError(t, err)
	require.NoError(t, j.Close())
	f, err := os.OpenFile(filepath.Join(dir, "run-3.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString(`{"op":"do","id":2,"act`) // crash mid-write
	require.NoError(t, f.Close())
	left, err := Scan(dir)
	require.NoError(t, err)
	require.Len(t, left, 1)
	assert.Len(t, left[0].Pending, 1)
}

func TestOpenRefusesToReuseARun(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, "same")
	require.NoError(t, err)
	defer j.Close()
	_, err = j.Record("x", "y", "signal", nil)
	require.NoError(t, err)
	_, err = Open(dir, "same")
	assert.Error(t, err)
}

func TestScanMissingDir(t *testing.T) {
	left, err := Scan(filepath.Join(t.TempDir(), "nope"))
	require.NoError(t, err)
	assert.Empty(t, left)
}

func ids(es []Entry) []int {
	out := make([]int, 0, len(es))
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
