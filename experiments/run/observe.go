package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/report"
)

// window resolves a check's `during` (and `after` offset) against what has
// happened so far; To is zero while the window is still open.
func (e *engine) window(c experiments.CheckSpec, now time.Time) verify.Window {
	e.mu.Lock()
	defer e.mu.Unlock()
	var w verify.Window
	during := c.During
	if during == "" {
		during = defaultDuring(c.Check)
	}
	switch during {
	case "baseline":
		w = verify.Window{Name: "baseline", From: e.start, To: e.baselineEnd}
	case "faults":
		w = verify.Window{Name: "faults", From: e.baselineEnd, To: e.rollbackAt}
	case "recovery":
		w = verify.Window{Name: "recovery", From: e.rollbackAt, To: e.end}
	case "run":
		w = verify.Window{Name: "run", From: e.start, To: e.end}
	default:
		w.Name = during
		for _, f := range e.faults {
			if f.spec.Name == during {
				w.From, w.To = f.start, f.end
			}
		}
	}
	if c.After > 0 && !w.From.IsZero() {
		w.From = w.From.Add(c.After.D())
		w.Name += " +" + c.After.String()
	}
	return w
}

// defaultDuring is the window a check judges when it names none: its own
// (a recover check: the recovery), else the faults.
func defaultDuring(c verify.Check) string {
	if d, ok := c.(interface{ DefaultDuring() string }); ok {
		return d.DefaultDuring()
	}
	return "faults"
}

func (e *engine) evidence(c *plannedCheck, now time.Time) verify.Evidence {
	ev := verify.Evidence{Timeline: e.gen.Timeline(), Window: e.window(c.spec, now), Faults: map[string]verify.Window{}, Now: now}
	e.mu.Lock()
	ev.Rollback = e.rollbackAt
	for _, f := range e.faults {
		ev.Faults[f.spec.Name] = verify.Window{Name: f.spec.Name, From: f.start, To: f.end}
	}
	e.mu.Unlock()
	return ev
}

// sampleLoop runs the self-health monitor and calls every Sampler check
// until ctx is done; it returns when both have stopped.
func (e *engine) sampleLoop(ctx context.Context) {
	monitorDone := make(chan struct{})
	go func() { defer close(monitorDone); e.self.run(ctx) }()
	defer func() { <-monitorDone }()
	var samplers []*plannedCheck
	for _, c := range e.checks {
		if _, ok := c.spec.Check.(verify.Sampler); ok {
			samplers = append(samplers, c)
		}
	}
	if len(samplers) == 0 {
		<-ctx.Done()
		return
	}
	t := time.NewTicker(verify.SampleEvery)
	defer t.Stop()
	for {
		now := time.Now()
		e.self.samplerTick(verify.SampleEvery, now)
		for _, c := range samplers {
			c.spec.Check.(verify.Sampler).Sample(ctx, now, e.window(c.spec, now))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// evaluate judges every check. When nothing was injected (steady state
// failed), checks of fault windows are reported as not run.
func (e *engine) evaluate(ctx context.Context, steadyFailed bool) {
	now := time.Now()
	var worst *time.Duration
	for _, c := range e.checks {
		ev := e.evidence(c, now)
		c.rep.Window = ev.Window.Name
		switch {
		case steadyFailed && c.spec.During != "baseline" && len(e.rep.Inconclusive()) > 0:
			c.rep.Result = verify.Result{Inconclusive: true, Reason: "not judged: the steady state could not be judged (chaos was starved) and nothing was injected"}
		case steadyFailed && c.spec.During != "baseline":
			c.rep.Result = verify.Result{Reason: "not judged: the steady state failed and nothing was injected"}
		case ev.Window.From.IsZero() || ev.Window.To.IsZero():
			c.rep.Result = verify.Result{Reason: fmt.Sprintf("not judged: window %q never happened (run ended early)", ev.Window.Name)}
		default:
			c.rep.Result = c.spec.Check.Evaluate(ctx, ev)
			_, samples := c.spec.Check.(verify.Sampler)
			if why := e.selfVerdict(ev.Window, samples); why != "" {
				c.rep.Result = verify.Inconclusive(c.rep.Result, why)
			}
		}
		if ttr := c.rep.TimeToRecover; ttr != nil && !c.rep.Inconclusive && (worst == nil || *ttr > *worst) {
			worst = ttr
		}
		e.rep.Checks = append(e.rep.Checks, *c.rep)
	}
	if worst != nil {
		s := report.Seconds(worst.Seconds())
		e.rep.TimeToRecover = &s
	}
}

// selfVerdict says why chaos's own health makes w impossible to judge, or
// "" (see selfhealth.go). The requests intended in w are in flight until
// as late as its slowest answer, so stalls up to then count too.
func (e *engine) selfVerdict(w verify.Window, samples bool) string {
	if e.self == nil || w.From.IsZero() || !w.To.After(w.From) {
		return ""
	}
	sum := e.gen.Timeline().Summary(w.From, w.To, "")
	ev := e.self.evidence(w.From, w.To, sum.Latency.Max, samples)
	ev.ownLag = sum.OwnLag
	return ev.starved(e.start)
}

type abortRule struct {
	spec experiments.Abort
	cond experiments.Condition
}

func (e *engine) abortConditions() ([]abortRule, error) {
	var out []abortRule
	for i, a := range e.exp.Abort {
		c, err := experiments.ParseCondition(a.When)
		if err != nil {
			return nil, invalid("abort[%d].when: %v", i, err)
		}
		if a.For == 0 {
			a.For.UnmarshalText([]byte("5s"))
		}
		out = append(out, abortRule{spec: a, cond: c})
	}
	return out, nil
}

// checkAborts returns why the run must stop, or "".
func (e *engine) checkAborts(rules []abortRule) string {
	now := time.Now()
	for _, r := range rules {
		from := now.Add(-r.spec.For.D())
		if from.Before(e.baselineEnd) {
			continue
		}
		sum := e.gen.Timeline().Summary(from, now, r.spec.Class)
		if sum.Completed < 5 {
			continue
		}
		var v float64
		switch r.cond.Metric {
		case "error_rate":
			v = sum.ErrorRate
		case "degraded_share":
			v = sum.DegradedShare
		case "p50":
			v = sum.Latency.P50.Seconds()
		case "p95":
			v = sum.Latency.P95.Seconds()
		case "p99":
			v = sum.Latency.P99.Seconds()
		case "ttft_p99":
			v = sum.TTFTContent.P99.Seconds()
		}
		if compare(v, r.cond.Op, r.cond.Value) {
			return fmt.Sprintf("%s held for %s (measured %s)", r.spec.When, r.spec.For, fmtMetric(r.cond.Metric, v))
		}
	}
	return ""
}

func compare(v float64, op string, bound float64) bool {
	switch op {
	case ">":
		return v > bound
	case ">=":
		return v >= bound
	case "<":
		return v < bound
	case "<=":
		return v <= bound
	}
	return false
}

func fmtMetric(metric string, v float64) string {
	if strings.HasPrefix(metric, "p") || strings.HasPrefix(metric, "ttft") {
		return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// liveLoop feeds the live view a snapshot every second until ctx ends. The
// live view is the progress writer when it implements report.Live (chaos run
// and demo pass one); otherwise a plain line goes out every 5 seconds.
func (e *engine) liveLoop(ctx context.Context) {
	if e.o.Quiet {
		return
	}
	live, _ := e.o.Stderr.(report.Live)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s := e.snapshot(time.Now())
		switch {
		case live != nil:
			live.Update(s)
		case n%5 == 0:
			fmt.Fprintln(e.log, report.PlainLine(s))
		}
	}
}

// snapshot is the run's state for the live view: load over the last five
// seconds, the faults on, and where each check's window stands.
func (e *engine) snapshot(now time.Time) report.Snapshot {
	sum := e.gen.Timeline().Summary(now.Add(-5*time.Second), now, "")
	s := report.Snapshot{Experiment: e.exp.Name, Rate: sum.Rate, P99: sum.Latency.P99, ErrorRate: sum.ErrorRate, DegradedShare: sum.DegradedShare}
	for _, c := range e.checks {
		w := e.window(c.spec, now)
		st := report.CheckEnded
		switch {
		case w.From.IsZero() || now.Before(w.From):
			st = report.CheckWaiting
		case w.To.IsZero() || now.Before(w.To):
			st = report.CheckWatching
		}
		s.Checks = append(s.Checks, report.CheckState{Name: c.spec.Name, State: st})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.Phase, s.Elapsed = e.phase, now.Sub(e.start)
	for _, f := range e.faults {
		if f.on {
			s.Faults = append(s.Faults, f.spec.Name)
		}
	}
	return s
}
