package faults

import (
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

func testEnv(t *testing.T, tgts ...targets.Target) (Env, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(t.TempDir(), journal.Meta{Run: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return Env{Fault: "f", Targets: tgts, Journal: j, Rand: rand.New(rand.NewPCG(1, 1)), Log: io.Discard}, j
}
