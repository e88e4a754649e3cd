// Package faultstest has what the tests of the fault families share.
package faultstest

import (
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

// Env is an injection environment on tgts with a fresh journal (closed at
// the end of the test) and a seeded random source.
func Env(t testing.TB, tgts ...targets.Target) (faults.Env, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(t.TempDir(), journal.Meta{Run: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return faults.Env{Fault: "f", Targets: tgts, Journal: j, Rand: rand.New(rand.NewPCG(1, 1)), Log: io.Discard}, j
}
