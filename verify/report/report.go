// Package report holds the evidence of a run — its versioned JSON form — and
// renders it: the summary table now; JSON, JUnit, Markdown and HTML later.
package report

import (
	"time"

	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/load"
)

// Schema versions the JSON form of Report.
const Schema = "chaos.report/v1"

// Report is the evidence of one run.
type Report struct {
	Schema     string        `json:"schema"`
	Experiment string        `json:"experiment"`
	File       string        `json:"file,omitempty"`
	Run        string        `json:"run"`
	Seed       int64         `json:"seed"`
	Started    time.Time     `json:"started"`
	Ended      time.Time     `json:"ended"`
	Verdict    string        `json:"verdict"` // held, failed, aborted, error
	ExitCode   int           `json:"exit_code"`
	Reason     string        `json:"reason,omitempty"`
	Stack      []string      `json:"stack,omitempty"` // what the run started, "name addr (pid)"
	Phases     Phases        `json:"phases"`
	Faults     []FaultReport `json:"faults"`
	Checks     []CheckReport `json:"checks"`
	// TimeToRecover is the longest time-to-recover measured by recover checks.
	TimeToRecover *Seconds   `json:"time_to_recover_s,omitempty"`
	Load          LoadReport `json:"load"`
}

// Seconds is a duration printed in JSON as seconds.
type Seconds float64

// Phases marks when each phase of the run began, in seconds from Started.
type Phases struct {
	Baseline Seconds `json:"baseline"`
	Inject   Seconds `json:"inject"`
	Rollback Seconds `json:"rollback"`
	Recovery Seconds `json:"recovery"`
	End      Seconds `json:"end"`
}

// FaultReport says what a fault hit, through which mechanism, and when.
type FaultReport struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	Targets   []string `json:"targets"`
	Mechanism string   `json:"mechanism"`
	Start     Seconds  `json:"start_s"`
	End       Seconds  `json:"end_s"`
	Injected  bool     `json:"injected"`
	Error     string   `json:"error,omitempty"`
}

// CheckReport is one check's verdict with its window.
type CheckReport struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Window string `json:"window"`
	verify.Result
}

// LoadReport summarises the measured load over the whole run and per second.
type LoadReport struct {
	URL     string        `json:"url"`
	Sent    int64         `json:"sent"`
	Total   load.Summary  `json:"total"`
	Seconds []load.Second `json:"seconds,omitempty"`
}

// SecondsSince is t − start in seconds, 0 for a zero t.
func SecondsSince(start, t time.Time) Seconds {
	if t.IsZero() {
		return 0
	}
	return Seconds(t.Sub(start).Seconds())
}

// Failed lists the checks that did not hold.
func (r *Report) Failed() []CheckReport {
	var out []CheckReport
	for _, c := range r.Checks {
		if !c.Held {
			out = append(out, c)
		}
	}
	return out
}
