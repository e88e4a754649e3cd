package run

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/report"
)

const defaultBaseline = 5 * time.Second

func baselineFor(exp *experiments.Experiment) time.Duration {
	if exp.SteadyState != nil && exp.SteadyState.For > 0 {
		return exp.SteadyState.For.D()
	}
	return defaultBaseline
}

// recoveryMax is the longest the recovery phase may last.
func recoveryMax(exp *experiments.Experiment) time.Duration {
	if exp.Recovery.For > 0 {
		return exp.Recovery.For.D()
	}
	var d time.Duration
	for _, c := range exp.Checks {
		if w, ok := waiter(c); ok && w.Limit() > d {
			d = w.Limit()
		}
		if c.During == "recovery" || c.During == "run" {
			d = max(d, 10*time.Second)
		}
	}
	return d
}

// waiter is the check as a Waiter when the recovery waits for it: a
// RecoveryWaiter only when its window is the recovery or the run.
func waiter(c experiments.CheckSpec) (verify.Waiter, bool) {
	w, ok := c.Check.(verify.Waiter)
	if _, only := c.Check.(verify.RecoveryWaiter); ok && only {
		d := cmp.Or(c.During, defaultDuring(c.Check))
		ok = d == "recovery" || d == "run"
	}
	return w, ok
}

func bodyOf(l experiments.Load) ([]byte, bool, error) {
	stream := false
	var body []byte
	switch b := l.Body.(type) {
	case nil:
	case string:
		body = []byte(b)
	default:
		out, err := json.Marshal(b)
		if err != nil {
			return nil, false, fmt.Errorf("cannot be sent as JSON: %v", err)
		}
		body = out
		if m, ok := b.(map[string]any); ok {
			if s, ok := m["stream"].(bool); ok {
				stream = s
			}
		}
	}
	if l.Stream != nil {
		stream = *l.Stream
	}
	return body, stream, nil
}

// phases runs baseline → faults → rollback → recovery → verdict. Load and
// samplers run throughout.
func (e *engine) phases(ctx context.Context) error {
	loadCtx, stopLoad := context.WithCancel(context.WithoutCancel(ctx))
	loadDone := make(chan struct{})
	e.mu.Lock()
	e.start = time.Now()
	e.phase = "baseline"
	e.self = newSelfMonitor(e.start)
	e.self.onStall = func(s span) {
		e.progress("chaos itself did not run for %s (+%.1fs): checks judging this stretch will be inconclusive", report.FormatDuration(s.len()), s.from.Sub(e.start).Seconds())
	}
	e.mu.Unlock()
	go func() { defer close(loadDone); _ = e.gen.Run(loadCtx) }()
	sampleCtx, stopSampling := context.WithCancel(context.WithoutCancel(ctx))
	samplingDone := make(chan struct{})
	go func() { defer close(samplingDone); e.sampleLoop(sampleCtx) }()
	go e.liveLoop(sampleCtx) // the live view, until sampling stops
	stopAll := func() {
		stopLoad()
		<-loadDone
		stopSampling()
		<-samplingDone
	}

	// baseline
	e.progress("baseline: %s of load at %s, steady state", baselineFor(e.exp), e.rep.Load.URL)
	if err := e.wait(ctx, baselineFor(e.exp)); err != nil {
		stopAll()
		e.finish()
		return e.interrupted(err)
	}
	e.mu.Lock()
	e.baselineEnd = time.Now()
	e.mu.Unlock()
	if err := e.steadyState(); err != nil {
		stopAll()
		e.finish()
		e.evaluate(ctx, true)
		return err
	}

	// inject, observe, rollback (always)
	e.setPhase("faults")
	runErr := e.timeline(ctx)
	e.mu.Lock()
	done := time.Now()
	e.rollbackAt = e.rollbackStartLocked(done)
	e.rep.Phases.RollbackDone = report.SecondsSince(e.start, done)
	e.mu.Unlock()
	if runErr != nil {
		stopAll()
		e.finish()
		e.evaluate(ctx, false)
		return runErr
	}

	// recovery
	e.setPhase("recovery")
	e.recovery(ctx)
	stopAll()
	e.finish()
	e.evaluate(ctx, false)
	if ctx.Err() != nil {
		return e.interrupted(ctx.Err())
	}
	return e.inconclusive()
}

// inconclusive is the run's error when no check failed but some could not
// be judged (exit 5); nil otherwise (a failure is exit 1 on its own).
func (e *engine) inconclusive() error {
	n := len(e.rep.Inconclusive())
	if n == 0 || len(e.rep.Failed()) > 0 {
		return nil
	}
	return &ExitError{Code: ExitInconclusive, Err: fmt.Errorf("%d of %d checks could not be judged: chaos itself was starved in their windows (see each reason); no check failed", n, len(e.rep.Checks))}
}

func (e *engine) setPhase(p string) {
	e.mu.Lock()
	e.phase = p
	e.mu.Unlock()
	e.progress("phase %s", p)
}

func (e *engine) finish() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.end = time.Now()
	s := func(t time.Time) report.Seconds { return report.SecondsSince(e.start, t) }
	e.rep.Phases = report.Phases{Baseline: 0, Inject: s(e.baselineEnd), Rollback: s(e.rollbackAt), Recovery: s(e.rollbackAt),
		RollbackDone: e.rep.Phases.RollbackDone, End: s(e.end)}
	e.rep.Started = e.start
	e.rep.Load = report.LoadOf(e.rep.Load.URL, e.gen.Stats().Sent, e.gen.Timeline(), e.start, e.end.Add(time.Second))
	if len(e.faults) == 0 {
		e.rep.Load.Capacity = e.capacity(e.gen.Timeline().Seconds(""))
	}
	for i, f := range e.faults {
		f.rep.Start, f.rep.End = s(f.start), s(f.end)
		f.rep.StartTime, f.rep.EndTime = timePtr(f.start), timePtr(f.end)
		e.rep.Faults[i] = *f.rep
	}
	e.rep.Self = e.self.report(e.gen.Timeline())
	e.rep.Series = nil
	for _, c := range e.checks {
		if sc, ok := c.spec.Check.(verify.Series); ok {
			if sr, ok := report.SeriesOf(c.spec.Name, c.spec.Kind, sc, e.start); ok {
				e.rep.Series = append(e.rep.Series, sr)
			}
		}
	}
}

// rollbackStartLocked is when the last fault's rollback began: the end of
// the latest fault window. The report's fault windows, its rollback line,
// the faults and recovery windows and time-to-recover's zero are all this
// one instant; how long the rollbacks themselves took is reported apart
// (Phases.RollbackDone). Without an injected fault it is now.
func (e *engine) rollbackStartLocked(now time.Time) time.Time {
	var last time.Time
	for _, f := range e.faults {
		if f.end.After(last) {
			last = f.end
		}
	}
	if last.IsZero() {
		return now
	}
	return last
}

func (e *engine) interrupted(err error) error {
	return &ExitError{Code: ExitAborted, Err: fmt.Errorf("interrupted (%v): every fault was rolled back", cause(err))}
}

func cause(err error) string {
	if errors.Is(err, context.Canceled) {
		return "signal"
	}
	return err.Error()
}

// wait sleeps for d or until ctx is done.
func (e *engine) wait(ctx context.Context, d time.Duration) error { return Sleep(ctx, d) }

// Sleep waits d, or until ctx is done (then it returns the cause).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// steadyState judges the baseline; a failure injects nothing.
func (e *engine) steadyState() error {
	ss := e.exp.SteadyState
	if ss == nil {
		return nil
	}
	sum := e.gen.Timeline().Summary(e.start, e.baselineEnd, "")
	ok, measured, bound, reason := ss.SLO.Judge(sum)
	e.progress("steady state: %s (bound %s)", measured, bound)
	if ok && len(e.faults) == 0 {
		// A load-only run: the steady state is its verdict.
		e.rep.Checks = append(e.rep.Checks, report.CheckReport{Name: "steady state", Kind: "slo", Window: "baseline",
			Result: verify.Result{Held: true, Measured: measured, Bound: bound}})
	}
	if !ok {
		res := verify.Result{Measured: measured, Bound: bound, Reason: reason}
		if why := e.selfVerdict(verify.Window{From: e.start, To: e.baselineEnd}, false); why != "" {
			res = verify.Inconclusive(res, why)
			e.rep.Checks = append(e.rep.Checks, report.CheckReport{Name: "steady state", Kind: "slo", Window: "baseline", Result: res})
			return &ExitError{Code: ExitInconclusive, Err: fmt.Errorf("steady state could not be judged (%s); nothing was injected", why)}
		}
		e.rep.Checks = append(e.rep.Checks, report.CheckReport{Name: "steady state", Kind: "slo", Window: "baseline", Result: res})
		return &ExitError{Code: ExitFailed, Err: fmt.Errorf("steady state did not hold before any fault (%s); nothing was injected", reason)}
	}
	return nil
}

type event struct {
	at     time.Time
	inject bool
	f      *plannedFault
}

// timeline injects and rolls back faults on schedule, watching the abort
// conditions every second. Whatever happens, every injected fault is rolled
// back before it returns.
func (e *engine) timeline(ctx context.Context) (err error) {
	var evs []event
	for _, f := range e.faults {
		at := e.baselineEnd.Add(f.spec.At.D())
		evs = append(evs, event{at: at, inject: true, f: f}, event{at: at.Add(f.spec.For.D()), f: f})
	}
	sort.SliceStable(evs, func(a, b int) bool { return evs[a].at.Before(evs[b].at) })
	defer func() {
		if p := recover(); p != nil {
			err = toolErr(fmt.Errorf("internal error during faults: %v", p))
		}
		if rerr := e.rollbackAll(ctx); rerr != nil {
			err = toolErr(errors.Join(err, rerr))
		}
	}()
	aborts, err := e.abortConditions()
	if err != nil {
		return err
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for len(evs) > 0 {
		next := time.NewTimer(time.Until(evs[0].at))
		select {
		case <-ctx.Done():
			next.Stop()
			e.progress("interrupted: rolling back")
			return e.interrupted(context.Cause(ctx))
		case <-tick.C:
			next.Stop()
			if reason := e.checkAborts(aborts); reason != "" {
				e.progress("abort: %s: rolling back", reason)
				return &ExitError{Code: ExitAborted, Err: fmt.Errorf("aborted: %s; every fault was rolled back", reason)}
			}
		case <-next.C:
			ev := evs[0]
			evs = evs[1:]
			if ev.inject {
				if err := e.inject(ctx, ev.f); err != nil {
					return err
				}
			} else if err := e.rollbackOne(ctx, ev.f); err != nil {
				return toolErr(err)
			}
		}
	}
	return nil
}

func (e *engine) inject(ctx context.Context, f *plannedFault) error {
	ts := e.world.refresh(f.targets)
	env := faults.Env{Fault: f.spec.Name, Targets: ts, Journal: e.j, Rand: e.rng, Log: &prefixWriter{w: e.log, prefix: "chaos: " + e.exp.Name + ":   "}, For: f.spec.For.D()}
	e.progress("inject %s (%s) on %s", f.spec.Name, f.spec.Kind, strings.Join(f.rep.Targets, ", "))
	e.mu.Lock() // the live view and samplers read fault windows
	f.start, f.on = time.Now(), true
	e.mu.Unlock()
	if e.o.OnFault != nil {
		e.o.OnFault(f.spec.Name, f.spec.Kind, true, f.start)
	}
	if err := f.spec.Params.Inject(ctx, env); err != nil {
		f.rep.Error = err.Error()
		err = fmt.Errorf("inject %s (%s): %w", f.spec.Name, f.spec.Kind, err)
		if errors.Is(err, targets.ErrRefused) {
			// a target refused only once asked (by the chaos agent): the
			// experiment is invalid, as when preflight refuses it
			return &ExitError{Code: ExitInvalid, Err: err}
		}
		return toolErr(err)
	}
	if m, ok := f.spec.Params.(faults.Mechanismer); ok && m.Mechanism() != "" {
		f.rep.Mechanism = m.Mechanism()
	}
	f.rep.Injected = true
	return nil
}

func (e *engine) rollbackOne(ctx context.Context, f *plannedFault) error {
	if !f.on {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.o.RollbackTimeout)
	defer cancel()
	// The fault's window ends as its rollback begins: what checks see
	// during the rollback (a container already starting again) is not the
	// fault's doing.
	e.mu.Lock()
	f.end = time.Now()
	e.mu.Unlock()
	err := f.spec.Params.Rollback(rctx)
	e.keepFaultSeries(f)
	e.mu.Lock()
	f.on = false
	e.mu.Unlock()
	if e.o.OnFault != nil {
		e.o.OnFault(f.spec.Name, f.spec.Kind, false, f.end)
	}
	if err != nil {
		f.rep.Error = strings.TrimSpace(f.rep.Error + "; rollback: " + err.Error())
		e.progress("ROLLBACK FAILED for %s: %v — run `chaos recover`", f.spec.Name, err)
		return fmt.Errorf("roll back %s: %w", f.spec.Name, err)
	}
	e.progress("rolled back %s", f.spec.Name)
	return nil
}

// rollbackAll undoes every fault still on, newest first, past errors.
func (e *engine) rollbackAll(ctx context.Context) error {
	var errs []error
	for i := len(e.faults) - 1; i >= 0; i-- {
		if err := e.rollbackOne(ctx, e.faults[i]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// recovery keeps the load on until every recover check is done or the
// recovery limit passes.
func (e *engine) recovery(ctx context.Context) {
	limit := recoveryMax(e.exp)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if e.waitersDone() {
			return
		}
		if e.wait(ctx, 250*time.Millisecond) != nil {
			return
		}
	}
}

func (e *engine) waitersDone() bool {
	any := false
	for _, c := range e.checks {
		w, ok := waiter(c.spec)
		if !ok || w.Limit() == 0 {
			continue
		}
		any = true
		if !w.Done(e.evidence(c, time.Now())) {
			return false
		}
	}
	return any
}
