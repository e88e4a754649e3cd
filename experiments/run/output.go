package run

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// dryRun prints the plan — phases, faults with their targets as far as they
// can be known without starting anything, checks with their windows — and
// touches nothing.
func (e *engine) dryRun(ctx context.Context) error {
	out := e.o.Stdout
	exp := e.exp
	fmt.Fprintf(out, "plan for %s (seed %d) — dry run, nothing is started or injected\n", exp.Name, e.o.Seed)
	if exp.Stack.Local != nil {
		v := exp.Stack.Local.Variant
		if e.o.Variant != nil {
			v = e.o.Variant
		}
		fmt.Fprintf(out, "  stack: local example stack, %d primary replica(s), variant %v, fault proxy in front of every model\n", max(exp.Stack.Local.Primaries, 2), v)
	}
	rate := exp.Load.Rate.String()
	if len(exp.Load.Stages) > 0 {
		rate = fmt.Sprintf("%d stages", len(exp.Load.Stages))
	}
	fmt.Fprintf(out, "  load: %s %s at %s\n", orDefault(exp.Load.Method, "POST"), exp.Load.URL, rate)
	b := baselineFor(exp)
	fmt.Fprintf(out, "  0s–%s baseline (steady state)\n", b)
	for _, f := range exp.Faults {
		fmt.Fprintf(out, "  +%s–+%s %s: %s on %s (pick %s) via %s\n", b+f.At.D(), b+f.At.D()+f.For.D(), f.Name, f.Kind, describeTarget(f.Target.Service, f.Target.Process, f.Target.Pid, f.Target.URL), orDefault(f.Target.Pick, "all"), mechanism(f.Kind))
	}
	fmt.Fprintf(out, "  then rollback, recovery up to %s\n", recoveryMax(exp))
	for _, c := range exp.Checks {
		d := c.During
		if d == "" {
			d = defaultDuring(c.Kind)
		}
		fmt.Fprintf(out, "  check %s (%s) during %s\n", c.Name, c.Kind, d)
	}
	for _, a := range exp.Abort {
		fmt.Fprintf(out, "  abort when %s for %s\n", a.When, orDefault(a.For.String(), "5s"))
	}
	return nil
}

func describeTarget(service, process string, pid int, url string) string {
	switch {
	case service != "":
		return "service " + service
	case process != "":
		return "process " + process
	case pid > 0:
		return fmt.Sprintf("pid %d", pid)
	}
	return url
}

func orDefault(s, d string) string {
	if s == "" || s == "0s" {
		return d
	}
	return s
}

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
