package run

import (
	"strings"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/verify/load"
)

// stalledMonitor is a monitor that ticked every 100 ms for 20 s except for
// one 3.1 s stretch from +9.1 s in which chaos did not run.
func stalledMonitor(t0 time.Time) *selfMonitor {
	m := &selfMonitor{start: t0, procs: 2}
	prev := t0
	for at := 100 * time.Millisecond; at <= 20*time.Second; at += 100 * time.Millisecond {
		if at > 9100*time.Millisecond && at < 12200*time.Millisecond {
			continue
		}
		now := t0.Add(at)
		m.tick(prev, now)
		prev = now
	}
	return m
}

func TestSelfHealthBounds(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	m := stalledMonitor(t0)
	m.samplerGaps = []span{{t0.Add(16 * time.Second), t0.Add(17500 * time.Millisecond)}}
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	clean := load.Quantiles{P50: time.Millisecond, P99: 3 * time.Millisecond, Max: 4 * time.Millisecond, Count: 500}
	for _, tc := range []struct {
		name     string
		from, to float64
		reach    time.Duration // the window's slowest answer
		sampler  bool
		ownLag   load.Quantiles
		wait     time.Duration // run-queue wait summed over threads, spread over the 20 s (2 procs)
		want     string        // "" = judged as usual
	}{
		{name: "a window with the gap", from: 5, to: 15, ownLag: clean, want: "a 3.1s gap at +9.1s in which chaos did not run (bound 500ms)"},
		{name: "a clean window", from: 13.5, to: 15.5, ownLag: clean},
		{name: "just after the gap: the catch-up burst", from: 12.5, to: 15, ownLag: clean, want: "a 3.1s gap at +9.1s"},
		{name: "before the gap, answers done in time", from: 3, to: 8, reach: 200 * time.Millisecond, ownLag: clean},
		{name: "before the gap, answers still in flight", from: 3, to: 8, reach: 2 * time.Second, ownLag: clean, want: "a 3.1s gap at +9.1s"},
		{name: "own send lag p99 over 100ms", from: 1, to: 8, ownLag: load.Quantiles{P99: 150 * time.Millisecond, Max: 180 * time.Millisecond, Count: 300},
			want: "own send lag p99 150ms, max 180ms (bound p99 100ms)"},
		{name: "own send lag p99 under 100ms", from: 1, to: 8, ownLag: load.Quantiles{P99: 60 * time.Millisecond, Max: 450 * time.Millisecond, Count: 300}},
		{name: "samplers missed ticks, a sampling check", from: 15.5, to: 19, sampler: true, ownLag: clean, want: "samplers missed their ticks for 1.5s at +16.0s"},
		{name: "samplers missed ticks, a check that does not sample", from: 15.5, to: 19, ownLag: clean},
		{name: "threads waited for a CPU 60% of the time, on schedule", from: 1, to: 8, ownLag: clean, wait: 24 * time.Second},
		{name: "threads waited for a CPU 60% of the time, late", from: 1, to: 8, wait: 24 * time.Second,
			ownLag: load.Quantiles{P99: 150 * time.Millisecond, Max: 180 * time.Millisecond, Count: 300},
			want:   "own send lag p99 150ms, max 180ms (bound p99 100ms), its threads waited for a CPU 60% of the window (schedstat per GOMAXPROCS)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m.waits = []waitMark{{t0, 0}, {t0.Add(20 * time.Second), tc.wait}}
			ev := m.evidence(at(tc.from), at(tc.to), tc.reach, tc.sampler)
			ev.ownLag = tc.ownLag
			got := ev.starved(t0)
			switch {
			case tc.want == "" && got != "":
				t.Errorf("judged inconclusive: %s; want judged as usual", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Errorf("reason %q, want it to say %q", got, tc.want)
			case tc.want != "" && !strings.HasPrefix(got, "chaos was starved: "):
				t.Errorf("reason %q does not say chaos was starved", got)
			}
		})
	}
}

func TestSelfReportSeconds(t *testing.T) {
	t0 := time.Now()
	m := stalledMonitor(t0)
	r := m.report(nil)
	if len(r.Stalls) != 1 || r.Stalls[0].From < 9 || r.Stalls[0].To > 12.3 {
		t.Errorf("stalls %+v, want the one from +9.1s to +12.2s", r.Stalls)
	}
	if len(r.Seconds) != 21 || r.Seconds[12].TickLate < 3000 || r.Seconds[5].TickLate > 1 {
		t.Errorf("%d seconds, tick late at 12s %vms and 5s %vms; want 21, ~3000ms, 0ms", len(r.Seconds), r.Seconds[12].TickLate, r.Seconds[5].TickLate)
	}
	if r.Bounds.OwnLagP99 != 100 || r.Bounds.Gap != 500 {
		t.Errorf("bounds %+v", r.Bounds)
	}
}

// TestSchedstatReads: the process's threads' CPU time and run-queue wait
// are read from /proc and only ever grow.
func TestSchedstatReads(t *testing.T) {
	s := newSchedstat()
	cpu0, wait0, ok := s.read()
	if !ok {
		t.Skip("no /proc/self/task here")
	}
	for x, end := 0, time.Now().Add(30*time.Millisecond); time.Now().Before(end); x++ {
		_ = x * x
	}
	cpu1, wait1, _ := s.read()
	if cpu1 <= cpu0 || wait1 < wait0 {
		t.Errorf("cpu %v → %v, wait %v → %v: want cpu to grow and wait never to go back", cpu0, cpu1, wait0, wait1)
	}
}
