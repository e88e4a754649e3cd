package faults_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/faultstest"
)

// TestUndoEntry: one change undone before the rollback (a newer one took
// its place) is undone once, marked undone in the journal, and left out of
// the rollback; one whose undo fails stays for the rollback to try again.
func TestUndoEntry(t *testing.T) {
	env, j := faultstest.Env(t)
	var c faults.Changes
	var undone []string
	fail := true
	apply := func(name string) int {
		id, err := c.ApplyEntry(env, faults.Change{Target: name, Key: "k", Action: "test-undo", Data: name, Owned: true,
			Undo: func(context.Context) error {
				if name == "c" && fail {
					fail = false
					return errors.New("not now")
				}
				undone = append(undone, name)
				return nil
			}}, func() error { return nil })
		require.NoError(t, err)
		require.NotZero(t, id)
		return id
	}
	apply("a")
	b, cc := apply("b"), apply("c")
	require.Len(t, j.Pending(), 3)

	require.NoError(t, c.UndoEntry(context.Background(), b))
	assert.Equal(t, []string{"b"}, undone)
	assert.Len(t, j.Pending(), 2, "b is undone in the journal")
	require.NoError(t, c.UndoEntry(context.Background(), b), "an entry undone already is nothing to do")
	require.NoError(t, c.UndoEntry(context.Background(), 999), "nor one never applied")
	assert.Equal(t, []string{"b"}, undone)

	require.Error(t, c.UndoEntry(context.Background(), cc), "c's undo fails once")
	assert.Len(t, j.Pending(), 2, "c stays pending")

	require.NoError(t, c.Rollback(context.Background()))
	assert.ElementsMatch(t, []string{"b", "a", "c"}, undone, "the rollback undoes a and c, not b again")
	assert.Empty(t, j.Pending())
}
