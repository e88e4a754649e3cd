// Package faultstest has what the tests of the fault families share.
package faultstest

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sync"
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

// Buffer is a log a fault's goroutines (renewers, per-target workers) may
// write while the test reads it: a bytes.Buffer behind a mutex.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
