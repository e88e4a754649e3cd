package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// PrintSummary writes the verdict table of one or more reports.
func PrintSummary(w io.Writer, reps ...*Report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPERIMENT\tCHECK\tKIND\tRESULT\tMEASURED\tBOUND\tWINDOW")
	for _, r := range reps {
		if len(r.Checks) == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t%s\t-\t-\t-\n", r.Experiment, strings.ToUpper(r.Verdict))
		}
		for _, c := range r.Checks {
			res := "held"
			if !c.Held {
				res = "FAILED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Experiment, c.Name, c.Kind, res, c.Measured, c.Bound, c.Window)
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, r := range reps {
		line := fmt.Sprintf("%s: %s (exit %d", r.Experiment, strings.ToUpper(r.Verdict), r.ExitCode)
		if r.TimeToRecover != nil {
			line += fmt.Sprintf(", time to recover %s", time.Duration(float64(*r.TimeToRecover)*float64(time.Second)).Round(10*time.Millisecond))
		}
		line += fmt.Sprintf(", %s, %d requests)", time.Duration(float64(r.Phases.End)*float64(time.Second)).Round(time.Second), r.Load.Sent)
		fmt.Fprintln(w, line)
		for _, c := range r.Failed() {
			fmt.Fprintf(w, "  ✗ %s: %s\n", c.Name, c.Reason)
		}
		if r.Reason != "" && r.Verdict != "failed" {
			fmt.Fprintf(w, "  reason: %s\n", r.Reason)
		}
	}
}
