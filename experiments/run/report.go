package run

import (
	"fmt"

	"github.com/chaos-sre/chaos/verify/report"
)

// Report is the evidence of one run (see package report).
type Report = report.Report

// ReportSchema versions the JSON form of Report.
const ReportSchema = report.Schema

// Exit codes, as documented in README and DESIGN.md.
const (
	ExitHeld    = 0 // every check held
	ExitFailed  = 1 // a check failed: the stack is not resilient
	ExitInvalid = 2 // the experiment or the command line is invalid
	ExitAborted = 3 // aborted by a stop condition or a signal
	ExitTool    = 4 // the tool could not inject or roll back
	// ExitInconclusive: no check failed, but at least one could not be
	// judged because chaos itself was starved in its window (see
	// selfhealth.go): CI may retry instead of blaming the stack. A failed
	// check still wins (exit 1).
	ExitInconclusive = 5
)

func verdictOf(code int) string {
	switch code {
	case ExitHeld:
		return "held"
	case ExitFailed:
		return "failed"
	case ExitAborted:
		return "aborted"
	case ExitInconclusive:
		return "inconclusive"
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
