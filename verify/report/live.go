package report

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Snapshot is the state of one running experiment, built by the engine about
// once a second for the live view.
type Snapshot struct {
	Experiment string
	Phase      string // baseline, faults, recovery
	Elapsed    time.Duration
	Faults     []string // the faults on now
	// Load over the last few seconds.
	Rate          float64
	P99           time.Duration
	ErrorRate     float64
	DegradedShare float64
	Checks        []CheckState
}

// CheckState is where a check stands while the run goes on; verdicts come
// at the end.
type CheckState struct {
	Name  string
	State string // one of the Check* states
}

// Check states in a Snapshot.
const (
	CheckWaiting  = "waiting"  // its window has not started
	CheckWatching = "watching" // its window is open
	CheckEnded    = "ended"    // its window has ended; judged at the end of the run
)

// Live renders snapshots on stderr while experiments run. It is also the
// writer for progress lines, so that a terminal view can print them above its
// block instead of tearing it. Several experiments may share one Live (chaos
// demo runs them side by side). Update after Close is ignored.
type Live interface {
	io.Writer
	Update(Snapshot)
	Close()
}

// NewLive picks the view: redrawn in place on a terminal, plain lines
// (at most one per experiment every `every`, and on each phase change)
// otherwise.
func NewLive(w io.Writer, tty bool, every time.Duration) Live {
	if tty {
		return &ttyLive{w: w, width: 120, last: map[string]Snapshot{}}
	}
	return &plainLive{w: w, every: every, last: map[string]plainState{}}
}

// plainLive prints one line per experiment every few seconds: for CI logs.
type plainLive struct {
	mu     sync.Mutex
	w      io.Writer
	every  time.Duration
	last   map[string]plainState
	closed bool
}

type plainState struct {
	at    time.Duration
	phase string
}

func (p *plainLive) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.w.Write(b)
}

func (p *plainLive) Update(s Snapshot) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, seen := p.last[s.Experiment]
	if p.closed || (seen && prev.phase == s.Phase && s.Elapsed-prev.at < p.every) {
		return
	}
	p.last[s.Experiment] = plainState{at: s.Elapsed, phase: s.Phase}
	fmt.Fprintln(p.w, PlainLine(s))
}

func (p *plainLive) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// PlainLine is a snapshot as one log line.
func PlainLine(s Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "chaos: %s [%s] %s", s.Experiment, clock(s.Elapsed), s.Phase)
	if len(s.Faults) > 0 {
		fmt.Fprintf(&b, " (%s on)", strings.Join(s.Faults, ", "))
	}
	fmt.Fprintf(&b, " · %.0f req/s · p99 %s · errors %s · degraded %s", s.Rate, FormatDuration(s.P99), Percent(s.ErrorRate), Percent(s.DegradedShare))
	if len(s.Checks) > 0 {
		parts := make([]string, len(s.Checks))
		for i, c := range s.Checks {
			parts[i] = c.Name + ": " + c.State
		}
		b.WriteString(" · checks " + strings.Join(parts, ", "))
	}
	return b.String()
}

// clock prints elapsed time as m:ss.
func clock(d time.Duration) string {
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}
