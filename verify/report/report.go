// Package report holds the evidence of a run — its versioned JSON form
// (chaos.report/v2) — and renders it: the live view while it runs, the
// summary table, JSON, JUnit XML, Markdown and a self-contained HTML page.
// Renderers read only these types, never the engine, so `chaos report` can
// re-render a saved result.json into any format.
package report

import (
	"time"

	"github.com/chaos-sre/chaos/verify"
)

// Schema versions the JSON form of Report. v2 added, over v1, the
// connection measures of new-client load (connects, connect_errors,
// connect_error_rate, connect, ttfb), load.class_totals and
// phases.rollback_done_s; time-to-recover is measured at 0.1 s. A v1
// report reads as a v2 one without those fields. Later v2 reports add,
// without removing anything, a check's status (inconclusive besides held
// and failed), verdict inconclusive with exit code 5, and self, chaos's
// own health; a report without them reads as before (status from held).
const Schema = "chaos.report/v2"

// SchemaV1 is the previous version, still read by ReadJSON.
const SchemaV1 = "chaos.report/v1"

// SchemaID is the $id of the published JSON Schema.
const SchemaID = "https://github.com/chaos-sre/chaos/" + Schema

// Report is the evidence of one run. Every duration is in seconds or
// milliseconds, with the unit in its JSON name; times are offsets in seconds
// from Started unless they are absolute (RFC 3339).
type Report struct {
	Schema     string        `json:"schema" jsonschema:"enum=chaos.report/v2"`
	Experiment string        `json:"experiment" jsonschema:"description=the experiment's name"`
	File       string        `json:"file,omitempty" jsonschema:"description=the experiment file"`
	Run        string        `json:"run" jsonschema:"description=the run id (also the journal's name)"`
	Seed       int64         `json:"seed" jsonschema:"description=seed of every random choice; rerun with --seed to repeat them"`
	Started    time.Time     `json:"started" jsonschema:"description=time zero of every offset in this report"`
	Ended      time.Time     `json:"ended"`
	Verdict    string        `json:"verdict" jsonschema:"enum=held,enum=failed,enum=aborted,enum=error,enum=inconclusive"`
	ExitCode   int           `json:"exit_code" jsonschema:"description=0 held · 1 a check failed · 2 invalid · 3 aborted · 4 could not inject or roll back · 5 inconclusive: no check failed but chaos was starved in the window of at least one"`
	Reason     string        `json:"reason,omitempty" jsonschema:"description=why the run did not hold when that is not a check"`
	Stack      []string      `json:"stack,omitempty" jsonschema:"description=what the run started: name addr (pid)"`
	Phases     Phases        `json:"phases"`
	Faults     []FaultReport `json:"faults"`
	Checks     []CheckReport `json:"checks"`
	// TimeToRecover is the longest time-to-recover measured by recover checks.
	TimeToRecover *Seconds   `json:"time_to_recover_s,omitempty" jsonschema:"description=longest time-to-recover measured by recover checks in seconds from rollback_s (0.1 s resolution)"`
	Load          LoadReport `json:"load"`
	// Series are the metrics checks sampled over the run (breaker state, counters).
	Series []SeriesReport `json:"series,omitempty"`
	// Self is chaos's own health over the run: whether it kept its
	// schedule, and so whether the stack's numbers can be trusted.
	Self *SelfReport `json:"self,omitempty" jsonschema:"description=chaos's own health: send lag and run-queue wait per second and the stalls in which it did not run"`
}

// Seconds is a duration printed in JSON as seconds.
type Seconds float64

// Duration converts s back to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// Phases marks when each phase of the run began, in seconds from Started.
// Rollback is when the last fault's rollback began: the end of the latest
// fault window, and the zero of recovery and of time-to-recover.
type Phases struct {
	Baseline Seconds `json:"baseline_s"`
	Inject   Seconds `json:"inject_s"`
	Rollback Seconds `json:"rollback_s" jsonschema:"description=when the last fault's rollback began: the end of the latest fault window and the zero of time-to-recover"`
	Recovery Seconds `json:"recovery_s" jsonschema:"description=start of the recovery phase (= rollback_s)"`
	// RollbackDone is when every rollback had returned (0 when none ran).
	RollbackDone Seconds `json:"rollback_done_s,omitempty" jsonschema:"description=when every rollback had returned; recovery is measured from rollback_s so it includes this time"`
	End          Seconds `json:"end_s"`
}

// FaultReport says what a fault hit, through which mechanism, and when.
type FaultReport struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	Targets   []string `json:"targets" jsonschema:"description=the resolved and picked targets"`
	Mechanism string   `json:"mechanism" jsonschema:"description=how the fault was brought in"`
	Start     Seconds  `json:"start_s" jsonschema:"description=when it was injected (0 when it never was)"`
	End       Seconds  `json:"end_s" jsonschema:"description=when it was rolled back"`
	// StartTime and EndTime are Start and End as absolute times, for
	// annotating dashboards (nil when the fault never went on).
	StartTime *time.Time `json:"start_time,omitempty" jsonschema:"description=when it was injected (RFC 3339)"`
	EndTime   *time.Time `json:"end_time,omitempty" jsonschema:"description=when it was rolled back (RFC 3339)"`
	Injected  bool       `json:"injected"`
	Error     string     `json:"error,omitempty"`
	// Series is what the fault measured of itself each second (exhaust:
	// connections held, refused, reset), when it measures anything.
	Series []FaultPoint `json:"series,omitempty" jsonschema:"description=per second: exhaust's connections held and those refused or reset"`
}

// SeriesReport is one metric a check sampled during the run.
type SeriesReport struct {
	Check  string        `json:"check" jsonschema:"description=the check that sampled it"`
	Kind   string        `json:"kind" jsonschema:"description=the check's kind; breaker series are 1 while open and 0 otherwise"`
	Name   string        `json:"name" jsonschema:"description=what the values are e.g. open: gateway_breaker_state{upstream=\"primary\"}"`
	Points []SeriesPoint `json:"points"`
}

// SeriesPoint is one sample of a series.
type SeriesPoint struct {
	T     Seconds `json:"t_s" jsonschema:"description=seconds from started"`
	Value float64 `json:"value"`
}

// SecondsSince is t − start in seconds, 0 for a zero t.
func SecondsSince(start, t time.Time) Seconds {
	if t.IsZero() {
		return 0
	}
	return Seconds(t.Sub(start).Seconds())
}

// Failed lists the checks that failed (neither held nor inconclusive).
func (r *Report) Failed() []CheckReport { return r.withStatus(verify.StatusFailed) }

// Inconclusive lists the checks that could not be judged because chaos
// itself was starved in their window.
func (r *Report) Inconclusive() []CheckReport { return r.withStatus(verify.StatusInconclusive) }

func (r *Report) withStatus(status string) []CheckReport {
	var out []CheckReport
	for _, c := range r.Checks {
		if c.Status() == status {
			out = append(out, c)
		}
	}
	return out
}

// ExitMeaning says what an exit code means, as README documents it.
func ExitMeaning(code int) string {
	switch code {
	case 0:
		return "every check held"
	case 1:
		return "a check failed: the stack is not resilient"
	case 2:
		return "the experiment or the command line is invalid"
	case 3:
		return "aborted by a stop condition or a signal; every fault was rolled back"
	case 4:
		return "the tool could not inject or roll back"
	case 5:
		return "no check failed, but at least one could not be judged: chaos itself was starved in its window (rerun)"
	}
	return "unknown"
}
