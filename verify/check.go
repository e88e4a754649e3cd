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

// String prints the window relative to the run start when known.
func (w Window) String() string { return w.Name }

// Evidence is what a check judges.
type Evidence struct {
	Timeline *load.Timeline
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
	// Evaluate judges the evidence; it is called once, after the window.
	Evaluate(ctx context.Context, ev Evidence) Result
}

// Sampler is implemented by checks that must observe something while the run
// goes on (scrape a metric, probe a URL). The engine calls Sample about every
// SampleEvery from the start of the baseline to the end of the run.
type Sampler interface {
	Sample(ctx context.Context, now time.Time)
}

// Waiter is implemented by checks whose window has no fixed end (recover):
// the engine keeps the recovery phase going until every Waiter is Done or its
// limit passes.
type Waiter interface {
	Done(ev Evidence) bool
	// Limit is the longest the check may need after rollback.
	Limit() time.Duration
}

// SampleEvery is how often samplers are called.
const SampleEvery = 250 * time.Millisecond

// Result is a check's verdict with the numbers behind it.
type Result struct {
	Held     bool   `json:"held"`
	Measured string `json:"measured"` // e.g. "p99 812ms, error rate 0.4%"
	Bound    string `json:"bound"`    // e.g. "p99 ≤ 500ms, error rate ≤ 1%"
	Reason   string `json:"reason,omitempty"`
	// TimeToRecover is set by recover checks.
	TimeToRecover *time.Duration `json:"time_to_recover,omitempty"`
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
