package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/chaos-sre/chaos/verify"
)

// PrintSummary writes the verdict table of one or more reports: every check
// with its result, measured value, bound and window; then one line per run
// with its verdict, time-to-recover and what the exit code means; then the
// reasons of what failed. Several runs are listed failed first (ByOutcome).
func PrintSummary(w io.Writer, reps ...*Report) {
	reps = ByOutcome(reps)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPERIMENT\tCHECK\tKIND\tRESULT\tMEASURED\tBOUND\tWINDOW")
	for _, r := range reps {
		if len(r.Checks) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t%s\t-\t-\t-\n", r.Experiment, strings.ToUpper(r.Verdict))
		}
		for _, c := range r.Checks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Experiment, c.Name, c.Kind, resultWord(c), dash(c.Measured), dash(c.Bound), dash(c.Window))
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range reps {
		fmt.Fprintf(w, "%s: %s (exit %d: %s)\n", r.Experiment, strings.ToUpper(r.Verdict), r.ExitCode, ExitMeaning(r.ExitCode))
		fmt.Fprintf(w, "  %s\n", runFacts(r))
		for _, c := range classConnects(r) {
			fmt.Fprintf(w, "  class %s\n", c)
		}
		for _, f := range r.Faults {
			for _, line := range f.SeriesSummary() {
				fmt.Fprintf(w, "  fault %s\n", line)
			}
		}
		for _, c := range r.Failed() {
			fmt.Fprintf(w, "  ✗ %s: %s\n", c.Name, c.Reason)
		}
		for _, c := range r.Inconclusive() {
			fmt.Fprintf(w, "  ? %s: %s\n", c.Name, c.Reason)
		}
		if r.Reason != "" && r.Verdict != "failed" {
			fmt.Fprintf(w, "  reason: %s\n", r.Reason)
		}
	}
	if len(reps) > 1 {
		code := Worst(reps)
		fmt.Fprintf(w, "\noverall: exit %d: %s\n", code, ExitMeaning(code))
	}
}

// runFacts is one line of what the run measured overall.
func runFacts(r *Report) string {
	var parts []string
	if r.TimeToRecover != nil {
		parts = append(parts, "time to recover "+fmtTTR(r.TimeToRecover.Duration()))
	}
	parts = append(parts, fmt.Sprintf("ran %s", r.Phases.End.Duration().Round(time.Second)),
		fmt.Sprintf("%d requests", r.Load.Sent),
		fmt.Sprintf("p99 %s", FormatMs(r.Load.Total.Latency.P99)),
		fmt.Sprintf("errors %s", Percent(r.Load.Total.ErrorRate)),
		fmt.Sprintf("seed %d", r.Seed))
	if c := connectFacts(r.Load.Total); c != "" {
		parts = append(parts, c)
	}
	if c := r.Load.Capacity; c != nil {
		parts = append(parts, fmt.Sprintf("capacity %.0f req/s (at +%s: p99 %s, errors %s)", c.Rate, c.At.Duration().Round(time.Second), FormatMs(c.P99), Percent(c.ErrorRate)))
	}
	return strings.Join(parts, " · ")
}

// connectFacts is what new clients saw, "" when no connection was opened:
// "12 connects: p99 1.02s, errors 3.1%".
func connectFacts(s Stats) string {
	if s.Connects == 0 {
		return ""
	}
	out := fmt.Sprintf("%d connects", s.Connects)
	if s.Connect != nil {
		out += ": p99 " + FormatMs(s.Connect.P99) + ","
	} else {
		out += ":"
	}
	return out + " errors " + Percent(s.ConnectErrorRate)
}

// classConnects lists connectFacts per class, for runs with several classes.
func classConnects(r *Report) []string {
	var out []string
	for _, c := range r.Load.Classes {
		if f := connectFacts(r.Load.ClassTotals[c]); f != "" {
			out = append(out, c+": "+f)
		}
	}
	return out
}

func resultWord(c CheckReport) string {
	switch {
	case c.Held:
		return "held"
	case c.Inconclusive:
		return "INCONCLUSIVE"
	case strings.HasPrefix(c.Reason, "not judged"):
		return "NOT JUDGED"
	}
	return "FAILED"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Worst picks the exit code of a set of runs: tool errors first, then
// invalid input, then aborts, then failed checks, then inconclusive ones.
func Worst(reps []*Report) int {
	code := 0
	for _, r := range reps {
		if ExitRank(r.ExitCode) > ExitRank(code) {
			code = r.ExitCode
		}
	}
	return code
}

// ExitRank orders exit codes by how bad they are, for the worst of several
// runs: held 0, inconclusive 5, failed 1, aborted 3, invalid 2, tool error 4.
func ExitRank(code int) int {
	return map[int]int{0: 0, 5: 1, 1: 2, 3: 3, 2: 4, 4: 5}[code]
}

// FormatDuration rounds d for people: 1.23s, 845ms, 310µs.
func FormatDuration(d time.Duration) string {
	switch {
	case d > 0 && d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// FormatMs prints milliseconds as a rounded duration.
func FormatMs(ms float64) string {
	return FormatDuration(time.Duration(ms * float64(time.Millisecond)))
}

// Percent prints a 0..1 share as a percentage.
func Percent(share float64) string {
	if share > 0 && share < 0.001 {
		return "<0.1%"
	}
	return fmt.Sprintf("%.1f%%", 100*share)
}

// fmtTTR prints a time-to-recover at its 0.1 s resolution: 0.3s, 12s.
func fmtTTR(d time.Duration) string { return verify.FormatTTR(d) }
