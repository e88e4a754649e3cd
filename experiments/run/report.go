package run

import (
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/load"
)

// Exit codes, as documented in README and DESIGN.md.
const (
	ExitHeld    = 0 // every check held
	ExitFailed  = 1 // a check failed: the stack is not resilient
	ExitInvalid = 2 // the experiment or the command line is invalid
	ExitAborted = 3 // aborted by a stop condition or a signal
	ExitTool    = 4 // the tool could not inject or roll back
)

// ReportSchema versions the JSON form of Report.
const ReportSchema = "chaos.report/v1"

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
	TimeToRecover *Seconds `json:"time_to_recover_s,omitempty"`
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

func secondsSince(start, t time.Time) Seconds {
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

func verdictOf(code int) string {
	switch code {
	case ExitHeld:
		return "held"
	case ExitFailed:
		return "failed"
	case ExitAborted:
		return "aborted"
	}
	return "error"
}

// ExitError carries an exit code with the error that decided it.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

func invalid(format string, args ...any) error {
	return &ExitError{Code: ExitInvalid, Err: fmt.Errorf(format, args...)}
}

func toolErr(err error) error { return &ExitError{Code: ExitTool, Err: err} }
