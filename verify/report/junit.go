package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML in the shape CI systems render (the common junit-10.xsd):
// testsuites > testsuite (one per experiment) > testcase (one per check) >
// failure, or skipped when chaos was starved in the check's window
// (inconclusive: neither held nor failed). A run that aborted or could not inject adds a testcase "run"
// with an error, so CI shows why the exit code is not 0 or 1.

// JUnitSuites is the <testsuites> root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one experiment.
type JUnitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []JUnitProperty `xml:"properties>property"`
	Cases      []JUnitCase     `xml:"testcase"`
	SystemOut  *JUnitText      `xml:"system-out,omitempty"`
}

// JUnitProperty is a name/value pair of a suite.
type JUnitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// JUnitCase is one check.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure,omitempty"`
	Error     *JUnitProblem `xml:"error,omitempty"`
	Skipped   *JUnitSkipped `xml:"skipped,omitempty"`
	SystemOut *JUnitText    `xml:"system-out,omitempty"`
}

// JUnitSkipped marks a check that could not be judged, with the reason.
type JUnitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnitText is text kept readable in a CDATA section.
type JUnitText struct {
	Text string `xml:",cdata"`
}

func junitText(s string) *JUnitText {
	if s == "" {
		return nil
	}
	return &JUnitText{Text: s}
}

// JUnitProblem is a <failure> or <error>: message and type attributes, the
// details as text.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// JUnitOf builds the JUnit document of one or more runs.
func JUnitOf(reps ...*Report) JUnitSuites {
	root := JUnitSuites{Name: "chaos"}
	var total float64
	for _, r := range reps {
		s := junitSuite(r)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Errors += s.Errors
		root.Skipped += s.Skipped
		total += float64(r.Phases.End)
		root.Suites = append(root.Suites, s)
	}
	root.Time = secs(total)
	return root
}

func junitSuite(r *Report) JUnitSuite {
	s := JUnitSuite{Name: r.Experiment, Time: secs(float64(r.Phases.End)), Timestamp: r.Started.UTC().Format("2006-01-02T15:04:05")}
	s.Properties = []JUnitProperty{
		{"run", r.Run}, {"seed", fmt.Sprint(r.Seed)}, {"verdict", r.Verdict},
		{"exit_code", fmt.Sprint(r.ExitCode)}, {"file", r.File},
	}
	if r.TimeToRecover != nil {
		s.Properties = append(s.Properties, JUnitProperty{"time_to_recover_s", fmt.Sprintf("%.3f", float64(*r.TimeToRecover))})
	}
	class := "chaos." + r.Experiment
	for _, c := range r.Checks {
		tc := JUnitCase{Name: c.Name, Classname: class, Time: "0"}
		detail := fmt.Sprintf("kind: %s\nwindow: %s\nmeasured: %s\nbound: %s", c.Kind, c.Window, c.Measured, c.Bound)
		if c.TimeToRecover != nil {
			tc.Time = secs(c.TimeToRecover.Seconds())
			detail += "\ntime to recover: " + fmtTTR(*c.TimeToRecover)
		}
		switch {
		case c.Held:
			tc.SystemOut = junitText(detail)
		case c.Inconclusive:
			s.Skipped++
			tc.Skipped = &JUnitSkipped{Message: c.Reason}
			tc.SystemOut = junitText(detail)
		default:
			s.Failures++
			msg := c.Reason
			if c.Measured != "" || c.Bound != "" {
				msg = fmt.Sprintf("measured %s; bound %s: %s", dash(c.Measured), dash(c.Bound), c.Reason)
			}
			tc.Failure = &JUnitProblem{Message: msg, Type: c.Kind, Text: detail + "\nreason: " + c.Reason}
		}
		s.Cases = append(s.Cases, tc)
	}
	explained := (r.ExitCode == 1 && len(r.Failed()) > 0) || (r.ExitCode == 5 && len(r.Inconclusive()) > 0)
	if r.ExitCode >= 1 && !explained {
		s.Errors++
		s.Cases = append(s.Cases, JUnitCase{Name: "run", Classname: class, Time: secs(float64(r.Phases.End)),
			Error: &JUnitProblem{Message: r.Reason, Type: r.Verdict, Text: fmt.Sprintf("exit %d: %s\n%s", r.ExitCode, ExitMeaning(r.ExitCode), r.Reason)}})
	}
	s.Tests = len(s.Cases)
	var out []string
	for _, f := range r.Faults {
		out = append(out, fmt.Sprintf("fault %s (%s) on %s via %s, +%.1fs..+%.1fs", f.Name, f.Kind, strings.Join(f.Targets, ", "), f.Mechanism, float64(f.Start), float64(f.End)))
	}
	s.SystemOut = junitText(strings.Join(out, "\n"))
	return s
}

func secs(s float64) string { return fmt.Sprintf("%.3f", s) }

// WriteJUnit writes the JUnit XML of one or more runs.
func WriteJUnit(w io.Writer, reps ...*Report) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(JUnitOf(reps...)); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
