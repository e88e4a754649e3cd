package run

import (
	"context"
	"fmt"
	"io"

	"github.com/chaos-sre/chaos/verify/report"
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
func PrintSummary(w io.Writer, reps ...*Report) { report.PrintSummary(w, reps...) }
