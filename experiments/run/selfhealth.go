package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/verify/load"
	"github.com/chaos-sre/chaos/verify/report"
)

// Self-health: chaos watches itself while it runs, because a chaos that is
// starved (memory pressure, a noisy neighbour, a laptop lid) makes a healthy
// stack look broken: its requests go out late and count as slow (latency
// is measured from the intended send time), then the backlog hits the
// stack at once. A check whose window saw chaos starved past one of these
// bounds is inconclusive: neither held nor failed, and the run exits 5.
const (
	// boundOwnLag is the p99 of the send lag that is chaos's own (not the
	// wait for a connection a slow stack holds). Normal runs here measure
	// well under 5 ms; 100 ms is the size of error that can move a latency
	// SLO of a few hundred milliseconds.
	boundOwnLag = 100 * time.Millisecond
	// boundGap is the longest chaos may not run at all: its 100 ms monitor
	// tick (or the samplers' 250 ms one) late by more than this. Five
	// timeline buckets without a send, or two missed samples.
	boundGap = 500 * time.Millisecond
	// Run-queue wait (schedstat's second field summed over chaos's
	// threads, divided by GOMAXPROCS) is measured and reported, and named
	// in a reason as context, but judges nothing: `chaos demo` (five
	// experiments and the local stack on 2 cores) measured 50–59% of every
	// window while its own send lag stayed under 100 ms and every check
	// held; and a process stopped or stalled in reclaim is not on a run
	// queue at all. The send lag and the gaps measure the effect itself.

	selfTick = 100 * time.Millisecond
	// stallMin is how late a tick must be to be listed as a stall in the
	// report (and on the chart); the judgement uses boundGap.
	stallMin = 250 * time.Millisecond
	// burstReach is how long after a stall the catch-up burst of requests
	// it held back may still weigh on the stack: a stall that ended this
	// long before a window began still makes the window inconclusive.
	burstReach = time.Second
)

// span is a stretch of wall-clock time.
type span struct{ from, to time.Time }

func (s span) len() time.Duration { return s.to.Sub(s.from) }

// selfSecond is one wall-clock second of the monitor's observations.
type selfSecond struct {
	tickLate, samplerLate time.Duration
	wait, cpu             time.Duration
}

// waitMark is the cumulative run-queue wait of chaos's threads at a time.
type waitMark struct {
	at   time.Time
	wait time.Duration
}

// selfMonitor records chaos's own health: how late its ticks fire, spans
// in which it did not run, and how long its threads waited for a CPU.
type selfMonitor struct {
	start time.Time
	// stat reads the process's cumulative CPU time and run-queue wait; nil
	// (or ok false) where /proc is not there.
	stat func() (cpu, wait time.Duration, ok bool)
	// onStall is told of each stall past boundGap as it is seen.
	onStall func(s span)
	// procs divides the run-queue wait summed over threads (GOMAXPROCS).
	procs int

	mu          sync.Mutex
	secs        []selfSecond
	stalls      []span // monitor ticks late by more than stallMin
	samplerGaps []span // sampler ticks late by more than stallMin
	waits       []waitMark
	lastSampler time.Time
	lastCPU     time.Duration
}

func newSelfMonitor(start time.Time) *selfMonitor {
	return &selfMonitor{start: start, stat: newSchedstat().read, procs: runtime.GOMAXPROCS(0)}
}

// run ticks every selfTick until ctx is done.
func (m *selfMonitor) run(ctx context.Context) {
	if m == nil {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(selfTick)
	defer t.Stop()
	prev := time.Now()
	lastStat := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			now = time.Now() // the tick's own time is when it was due, not when it ran
			m.tick(prev, now)
			prev = now
			if now.Sub(lastStat) >= time.Second {
				m.readStat(now)
				lastStat = now
			}
		}
	}
}

// tick records one monitor tick at now after the one at prev.
func (m *selfMonitor) tick(prev, now time.Time) {
	late := now.Sub(prev) - selfTick
	m.mu.Lock()
	s := m.secondLocked(now)
	s.tickLate = max(s.tickLate, late)
	if late > stallMin {
		m.stalls = append(m.stalls, span{prev, now})
	}
	m.mu.Unlock()
	if late > boundGap && m.onStall != nil {
		m.onStall(span{prev, now})
	}
}

// samplerTick records one tick of the samplers' loop.
func (m *selfMonitor) samplerTick(every time.Duration, now time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.lastSampler.IsZero() {
		late := now.Sub(m.lastSampler) - every
		s := m.secondLocked(now)
		s.samplerLate = max(s.samplerLate, late)
		if late > stallMin {
			m.samplerGaps = append(m.samplerGaps, span{m.lastSampler, now})
		}
	}
	m.lastSampler = now
}

// readStat adds the CPU time and run-queue wait since the last read to the
// second of now.
func (m *selfMonitor) readStat(now time.Time) {
	if m.stat == nil {
		return
	}
	cpu, wait, ok := m.stat()
	if !ok {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.waits); n > 0 {
		s := m.secondLocked(now)
		s.wait += wait - m.waits[n-1].wait
		s.cpu += cpu - m.lastCPU
	}
	m.waits = append(m.waits, waitMark{now, wait})
	m.lastCPU = cpu
}

// secondLocked is the record of the wall-clock second holding t.
func (m *selfMonitor) secondLocked(t time.Time) *selfSecond {
	i := max(int(t.Sub(m.start)/time.Second), 0)
	for len(m.secs) <= i {
		m.secs = append(m.secs, selfSecond{})
	}
	return &m.secs[i]
}

// selfEvidence is what the monitor saw around one check's window.
type selfEvidence struct {
	ownLag     load.Quantiles // own send lag of the requests intended in the window
	gap        span           // the longest stall near the window (zero: none)
	samplerGap span           // the longest sampler gap in it (checks that sample)
	wait, wall time.Duration  // run-queue wait of chaos's threads (per GOMAXPROCS) over the window's wall time
}

// evidence gathers what the monitor saw around w: stalls from burstReach
// before it to reach after it (the requests intended in the window are in
// flight until then), the samplers' gaps and the run-queue wait within it.
func (m *selfMonitor) evidence(from, to time.Time, reach time.Duration, sampler bool) selfEvidence {
	m.mu.Lock()
	defer m.mu.Unlock()
	ev := selfEvidence{wall: to.Sub(from)}
	longest := func(spans []span, a, b time.Time) (out span) {
		for _, s := range spans {
			if s.to.After(a) && s.from.Before(b) && s.len() > out.len() {
				out = s
			}
		}
		return out
	}
	ev.gap = longest(m.stalls, from.Add(-burstReach), to.Add(reach))
	if sampler {
		ev.samplerGap = longest(m.samplerGaps, from, to)
	}
	ev.wait = (waitAt(m.waits, to) - waitAt(m.waits, from)) / time.Duration(max(m.procs, 1))
	return ev
}

// waitAt interpolates the cumulative run-queue wait at t.
func waitAt(ws []waitMark, t time.Time) time.Duration {
	if len(ws) == 0 || !t.After(ws[0].at) {
		return 0
	}
	for i := 1; i < len(ws); i++ {
		if t.Before(ws[i].at) {
			a, b := ws[i-1], ws[i]
			f := float64(t.Sub(a.at)) / float64(b.at.Sub(a.at))
			return a.wait + time.Duration(f*float64(b.wait-a.wait))
		}
	}
	return ws[len(ws)-1].wait
}

// starved says why the window cannot be judged, with the numbers, or ""
// when chaos kept within every bound. start is the report's time zero.
func (ev selfEvidence) starved(start time.Time) string {
	var why []string
	if ev.ownLag.Count > 0 && ev.ownLag.P99 > boundOwnLag {
		why = append(why, fmt.Sprintf("own send lag p99 %s, max %s (bound p99 %s)", report.FormatDuration(ev.ownLag.P99), report.FormatDuration(ev.ownLag.Max), boundOwnLag))
	}
	if d := ev.gap.len(); d-selfTick > boundGap {
		why = append(why, fmt.Sprintf("a %s gap at +%.1fs in which chaos did not run (bound %s)", report.FormatDuration(d), ev.gap.from.Sub(start).Seconds(), boundGap))
	}
	if d := ev.samplerGap.len(); d > boundGap+250*time.Millisecond {
		why = append(why, fmt.Sprintf("samplers missed their ticks for %s at +%.1fs", report.FormatDuration(d), ev.samplerGap.from.Sub(start).Seconds()))
	}
	if len(why) == 0 {
		return ""
	}
	if ev.wall > 0 {
		why = append(why, fmt.Sprintf("its threads waited for a CPU %.0f%% of the window (schedstat per GOMAXPROCS)", 100*float64(ev.wait)/float64(ev.wall)))
	}
	return "chaos was starved: " + strings.Join(why, ", ") + "; the stack's numbers in this window cannot be trusted"
}

// report is the self block of the run's report: per second, send lag by
// intended send time (from the load timeline) and the monitor's figures.
func (m *selfMonitor) report(tl *load.Timeline) *report.SelfReport {
	if m == nil {
		return nil
	}
	out := &report.SelfReport{Bounds: report.SelfBounds{OwnLagP99: ms(boundOwnLag), Gap: ms(boundGap)}}
	var loadSecs []load.Second
	if tl != nil {
		loadSecs = tl.Seconds("")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.stalls {
		out.Stalls = append(out.Stalls, report.Stall{From: report.SecondsSince(m.start, s.from), To: report.SecondsSince(m.start, s.to)})
	}
	for i := 0; i < max(len(m.secs), len(loadSecs)); i++ {
		sec := report.SelfSecond{T: report.Seconds(i)}
		if i < len(m.secs) {
			s := m.secs[i]
			sec.RunQueueWait, sec.CPU = s.wait.Seconds()/float64(max(m.procs, 1)), s.cpu.Seconds()
			sec.TickLate, sec.SamplerLate = ms(max(s.tickLate, 0)), ms(max(s.samplerLate, 0))
		}
		if i < len(loadSecs) && loadSecs[i].SendLag.Count > 0 {
			l := loadSecs[i]
			sec.T = report.SecondsSince(m.start, l.At)
			sec.SendLag, sec.OwnLag = quantiles(l.SendLag), quantiles(l.OwnLag)
		}
		out.Seconds = append(out.Seconds, sec)
	}
	return out
}

func quantiles(q load.Quantiles) *report.Quantiles {
	return &report.Quantiles{P50: ms(q.P50), P95: ms(q.P95), P99: ms(q.P99), Max: ms(q.Max), Count: q.Count}
}

// ms is d in milliseconds to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// schedstat reads /proc/self/task/*/schedstat: per thread, the time it ran
// and the time it waited on a run queue (the first two fields, in ns). It
// keeps each thread's last figures so threads that exit do not make the
// sums go back.
type schedstat struct {
	last      map[string][2]int64
	cpu, wait time.Duration
}

func newSchedstat() *schedstat { return &schedstat{last: map[string][2]int64{}} }

func (s *schedstat) read() (cpu, wait time.Duration, ok bool) {
	dirs, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, 0, false
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join("/proc/self/task", d.Name(), "schedstat"))
		if err != nil {
			continue // the thread has just exited
		}
		f := strings.Fields(string(b))
		if len(f) < 2 {
			continue
		}
		run, err1 := strconv.ParseInt(f[0], 10, 64)
		waited, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		prev := s.last[d.Name()]
		s.cpu += time.Duration(max(run-prev[0], 0))
		s.wait += time.Duration(max(waited-prev[1], 0))
		s.last[d.Name()] = [2]int64{run, waited}
	}
	return s.cpu, s.wait, true
}
