// Package verify defines checks: probes that judge the evidence of a run (the
// load timeline, scraped metrics, probes) over a window and say, with numbers,
// whether a resilience behaviour held.
package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/load"
)

// Window is a span of the run a check judges, named for reports.
type Window struct {
	Name     string    // e.g. "slow-primary +5s", "recovery"
	From, To time.Time // [From, To)
}

// String prints the window's name, or its length when it has none.
func (w Window) String() string {
	if w.Name != "" {
		return w.Name
	}
	if !w.From.IsZero() && !w.To.IsZero() {
		return "a window of " + fmtDur(w.To.Sub(w.From))
	}
	return "an unknown window"
}

// Load is the part of the load timeline that checks read. *load.Timeline
// implements it; tests use hand-written fakes with known content, so a check's
// verdict can be tested without timing real traffic.
type Load interface {
	// Summary aggregates requests whose intended send time is in [from, to);
	// class "" means all classes.
	Summary(from, to time.Time, class string) load.Summary
}

var _ Load = (*load.Timeline)(nil)

// Evidence is what a check judges.
type Evidence struct {
	Timeline Load              // nil when the run had no load
	Window   Window            // the window this check judges
	Faults   map[string]Window // every fault's actual on-window
	// Rollback is when the last fault was rolled back (recovery starts); zero
	// before rollback.
	Rollback time.Time
	Now      time.Time
}

// Check is one kind's parameters and judgement. The experiment decoder fills
// the value returned by Kind.New from the check's own fields (yaml tags).
type Check interface {
	Validate() []units.Problem
	// Evaluate judges the evidence; it is called once, after the window (for
	// a Waiter: once it is Done or its limit has passed). It may block briefly
	// to collect a sample still in flight (bounded by the check's timeout).
	Evaluate(ctx context.Context, ev Evidence) Result
}

// Sampler is implemented by checks that must observe something while the run
// goes on (scrape a metric, probe a URL, run a command at the window's end).
// The engine calls Sample about every SampleEvery from the start of the
// baseline to the end of the run, with now on the same clock as the windows
// and w the check's planned window (From or To zero while not yet known).
// Sample must return quickly: slow I/O runs in the background, at most one
// at a time per check, and is recorded against now. ctx should live as long
// as the run: a sample cut short by its end is dropped, not counted as a
// failure.
type Sampler interface {
	Sample(ctx context.Context, now time.Time, w Window)
}

// Waiter is implemented by checks whose window has no fixed end (recover), or
// that also judge the end of the run (breaker with closes): the engine keeps
// the recovery phase going until every Waiter is Done or its limit passes,
// and evaluates Waiters after that.
type Waiter interface {
	Done(ev Evidence) bool
	// Limit is the longest the check may need after rollback. A Waiter whose
	// Limit is 0 has nothing to wait for this run (a breaker check without
	// closes): it is Done at once and should not count as a Waiter.
	Limit() time.Duration
}

// SampleEvery is how often samplers are called.
const SampleEvery = 250 * time.Millisecond

// Result is a check's verdict with the numbers behind it.
type Result struct {
	Held bool `json:"held"`
	// Inconclusive is set (Held stays false) when the window could not be
	// judged because chaos itself was starved in it: its load went out late,
	// its ticks were missed, so neither a hold nor a failure is evidence
	// about the stack. The engine sets it; a check never does.
	Inconclusive bool   `json:"inconclusive,omitempty"`
	Measured     string `json:"measured"` // e.g. "p99 812ms, error rate 0.4%"
	Bound        string `json:"bound"`    // e.g. "p99 ≤ 500ms, error rate ≤ 1%"
	Reason       string `json:"reason,omitempty"`
	// TimeToRecover is set by recover checks.
	TimeToRecover *time.Duration `json:"time_to_recover,omitempty"`
}

// The three states of a Result.
const (
	StatusHeld         = "held"
	StatusFailed       = "failed"
	StatusInconclusive = "inconclusive"
)

// Status is StatusHeld, StatusFailed or StatusInconclusive.
func (r Result) Status() string {
	switch {
	case r.Held:
		return StatusHeld
	case r.Inconclusive:
		return StatusInconclusive
	}
	return StatusFailed
}

// Inconclusive turns a verdict into one that cannot be trusted, saying why
// (with numbers) and what the check would have said. It keeps the measured
// value and the bound, and a time-to-recover (measured, but not evidence).
func Inconclusive(r Result, why string) Result {
	would := "would have held"
	if !r.Held {
		would = "would have failed"
		if r.Reason != "" {
			would += ": " + r.Reason
		}
	}
	r.Held, r.Inconclusive = false, true
	r.Reason = "inconclusive: " + why + " (as measured it " + would + ")"
	return r
}

// Kind describes one check kind for the registry.
type Kind struct {
	Summary string
	New     func() Check
}

func held(measured, bound string) Result { return Result{Held: true, Measured: measured, Bound: bound} }

func failed(measured, bound, format string, args ...any) Result {
	return Result{Measured: measured, Bound: bound, Reason: fmt.Sprintf(format, args...)}
}
