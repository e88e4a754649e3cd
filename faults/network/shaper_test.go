//go:build linux

package network

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// The shaper's thread drops real-time priority while it takes more than
// rtMaxShare of a CPU and takes it back after a calmer second, not only
// once: a burst early in a fault must not cost the rest of it its timing.
func TestShaperPriorityComesBack(t *testing.T) {
	if unix.Geteuid() != 0 {
		if os.Getenv("CHAOS_REQUIRE_DOCKER") == "1" {
			t.Fatal("real-time priority needs root (CHAOS_REQUIRE_DOCKER=1 says this must run)")
		}
		t.Skip("real-time priority needs root")
	}
	type step struct {
		share  float64
		wantRT bool
	}
	steps := []step{
		{0.5, true},   // calm: stays real-time
		{0.95, false}, // over the cap: normal priority
		{0.7, false},  // between the marks: stays normal (no flapping)
		{0.3, true},   // calm again: real-time again
		{0.95, false}, // and it can drop again
	}
	q := &Queue{}
	got := make(chan []bool, 1)
	goThrowaway(func() {
		var seen []bool
		rt := realtime(true)
		for _, s := range steps {
			rt = q.priority(rt, s.share)
			seen = append(seen, rt && policy() == unix.SCHED_FIFO)
		}
		got <- seen
	})
	var want []bool
	for _, s := range steps {
		want = append(want, s.wantRT)
	}
	assert.Equal(t, want, <-got)
	assert.EqualValues(t, 2, q.Stats.Demoted.Load())
}

func policy() uint32 {
	a, err := unix.SchedGetAttr(0, 0)
	if err != nil {
		return ^uint32(0)
	}
	return a.Policy
}
