package kinds

import (
	"context"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/container"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/process"
)

// TestUndoersNameEachActionOnce: no two families claim one journal action,
// so `chaos recover` cannot run the wrong undoer.
func TestUndoersNameEachActionOnce(t *testing.T) {
	n := 0
	for _, m := range []map[string]faults.UndoFunc{faults.Undoers, process.Undoers, container.Undoers, netns.Undoers, kube.Undoers} {
		n += len(m)
	}
	assert.Len(t, Undoers, n)
}

func TestUndoOfAnUnknownActionSaysSo(t *testing.T) {
	err := Undo(context.Background(), journal.Entry{Run: "r", ID: 1, Action: "tc-filter"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown undo action "tc-filter"`)
}

// TestEveryKindIsComplete: a summary, one target type, a constructor.
func TestEveryKindIsComplete(t *testing.T) {
	for name, k := range All {
		assert.NotEmpty(t, k.Summary, name)
		assert.Len(t, k.Targets, 1, name)
		require.NotNil(t, k.New, name)
		assert.NotNil(t, k.New(), name)
	}
}

// TestLinuxOnlyKindsSaySo: the process and namespace kinds tell preflight
// whether this OS has their mechanism (Linux does); the others run anywhere.
func TestLinuxOnlyKindsSaySo(t *testing.T) {
	var linuxOnly []string
	for name, k := range All {
		if a, ok := k.New().(faults.Availabler); ok {
			linuxOnly = append(linuxOnly, name)
			if runtime.GOOS == "linux" {
				assert.NoError(t, a.Available(), name)
			} else {
				assert.Error(t, a.Available(), name)
			}
		}
	}
	assert.Subset(t, linuxOnly, []string{"process", "net-latency", "partition", "dns", "conn-limit"})
}
