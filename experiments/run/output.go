package run

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/verify/report"
)

// dryRun prints the plan — phases, each fault's target selector and the
// targets it resolves to now (for a stack already running; the local stack
// is not started), checks with their windows and the program a command
// check will run — and changes nothing. A target that does not resolve is
// reported on its line; it does not fail the dry run.
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
	dw := dryRunWorld(ctx, exp, e.o)
	if dw.w != nil && len(dw.w.started) > 0 {
		fmt.Fprintf(out, "  stack: %s\n", strings.Join(dw.w.started, ", "))
	}
	rate := exp.Load.Rate.String()
	if len(exp.Load.Stages) > 0 {
		rate = fmt.Sprintf("%d stages", len(exp.Load.Stages))
	}
	fmt.Fprintf(out, "  load: %s %s at %s\n", orDefault(exp.Load.Method, "POST"), dw.expand(exp, exp.Load.URL), rate)
	b := baselineFor(exp)
	fmt.Fprintf(out, "  0s–%s baseline (steady state)\n", b)
	for _, f := range exp.Faults {
		how, viaAgent := mechanism(f.Kind), agentRoutes(exp, f)
		if viaAgent {
			how = remote.Mechanism(nil)
		}
		fmt.Fprintf(out, "  +%s–+%s %s: %s on %s (pick %s) via %s\n", b+f.At.D(), b+f.At.D()+f.For.D(), f.Name, f.Kind, describeTarget(f.Target), orDefault(f.Target.Pick, "all"), how)
		dw.writeResolved(ctx, out, f.Target, viaAgent)
	}
	fmt.Fprintf(out, "  then rollback, recovery up to %s\n", recoveryMax(exp))
	for _, c := range exp.Checks {
		d := c.During
		if d == "" {
			d = defaultDuring(c.Check)
		}
		fmt.Fprintf(out, "  check %s (%s) during %s\n", c.Name, c.Kind, d)
		dw.writeCheckPods(ctx, out, c)
		if line, ok := CommandProgram(c, func(s string) string { return dw.expand(exp, s) }); ok {
			note := unsetVars(line)
			if note != "" && dw.w != nil {
				note = "  (unknown: " + strings.Join(varRe.FindAllString(line, -1), ", ") + "; valid: " + strings.Join(dw.w.varNames(), ", ") + ")"
			}
			fmt.Fprintf(out, "      runs: %s%s\n", line, note)
		}
	}
	for _, a := range exp.Abort {
		fmt.Fprintf(out, "  abort when %s for %s\n", a.When, orDefault(a.For.String(), "5s"))
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" || s == "0s" {
		return d
	}
	return s
}

// PrintSummary writes the verdict table of one or more reports.
func PrintSummary(w io.Writer, reps ...*Report) { report.PrintSummary(w, reps...) }
