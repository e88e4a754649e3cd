// Package gameday runs suites: the experiments of a game-day one after
// another against a shared stack, with a cool-down and a steady-state gate
// between them, each run's reports in a dated folder, and a history (an
// index of runs and a self-contained index.html with trends). A Scheduler
// repeats it on a cron schedule without ever running two at once.
package gameday

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/verify/report"
)

// DefaultReportDir is the report folder of a suite without report_dir,
// relative to the suite file.
const DefaultReportDir = "reports"

// DefaultGateWithin bounds the steady-state gate of a cool-down.
const DefaultGateWithin = 2 * time.Minute

// Options are the knobs of one game-day run.
type Options struct {
	ReportDir string   // overrides the suite's report_dir (then relative to the working folder)
	Variant   []string // overrides the suite's variant (nil: keep)
	Seed      int64    // overrides the suite's seed (0: keep)
	StateDir  string   // journals (see run.Options)
	Stderr    io.Writer
	Quiet     bool
	// Engine are the options every experiment runs with (Stderr, OnFault…);
	// Seed, Variant and StateDir are set per experiment.
	Engine run.Options
	// Now stamps the run folder; default time.Now.
	Now func() time.Time
	// Run and Gate default to run.Run and run.SteadyState; tests replace them.
	Run  func(context.Context, *experiments.Experiment, run.Options) (*report.Report, error)
	Gate func(context.Context, *experiments.Experiment, run.Options) (bool, string, error)
	// Sleep waits d or until ctx is done; default a timer.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Result is one game-day run.
type Result struct {
	Suite    string
	File     string
	Started  time.Time
	Ended    time.Time
	Dir      string // the dated folder with this run's reports
	Reports  []*report.Report
	NotRun   []NotRun // experiments that did not run, and why
	ExitCode int      // the worst of the runs (a gate that never opened counts as failed)
	Verdict  string
}

// NotRun is an experiment of the suite that did not run.
type NotRun struct {
	Experiment string `json:"experiment"`
	Reason     string `json:"reason"`
	ExitCode   int    `json:"exit_code"` // what it counts as: 1 for a gate that stayed shut, else 0
}

// Failing names the experiments that did not hold, with why.
func (r *Result) Failing() []string {
	var out []string
	for _, rep := range r.Reports {
		if rep.ExitCode == run.ExitHeld {
			continue
		}
		why := rep.Reason
		if fs := rep.Failed(); len(fs) > 0 {
			var names []string
			for _, c := range fs {
				names = append(names, fmt.Sprintf("%q", c.Name))
			}
			why = "check " + strings.Join(names, ", ") + " failed"
			if len(fs) > 1 {
				why = "checks " + strings.Join(names, ", ") + " failed"
			}
		}
		out = append(out, fmt.Sprintf("%s (%s: %s)", rep.Experiment, rep.Verdict, why))
	}
	for _, n := range r.NotRun {
		if n.ExitCode != run.ExitHeld {
			out = append(out, fmt.Sprintf("%s (not run: %s)", n.Experiment, n.Reason))
		}
	}
	return out
}

// Run runs the suite once and writes its reports and history. The result is
// always returned; the error is one the reports could not be written for.
func Run(ctx context.Context, s *experiments.Suite, o Options) (*Result, error) {
	o = o.withDefaults()
	log := o.Stderr
	if o.Quiet {
		log = io.Discard
	}
	res := &Result{Suite: s.Name, File: s.File, Started: o.Now()}
	seed := s.Seed
	if o.Seed != 0 {
		seed = o.Seed
	}
	if seed == 0 {
		seed = res.Started.UnixNano() & 0x7fffffffffff
	}
	variant := s.Variant
	if o.Variant != nil {
		variant = o.Variant
	}
	n := len(s.Experiments)
	stop := ""
	for i, entry := range s.Experiments {
		exp := withSuite(entry.Experiment, s)
		if stop != "" {
			res.NotRun = append(res.NotRun, NotRun{Experiment: exp.Name, Reason: stop})
			continue
		}
		eo := o.Engine
		eo.Seed, eo.StateDir, eo.Quiet = seed+int64(i), o.StateDir, o.Quiet
		if variant != nil {
			eo.Variant = variant
		}
		{ // the first experiment is gated too: a shared stack may still be warming up
			if why, err := cooldown(ctx, s.Cooldown, i > 0, exp, eo, o, log); err != nil {
				stop = "the game-day was interrupted"
				res.NotRun = append(res.NotRun, NotRun{Experiment: exp.Name, Reason: stop})
				continue
			} else if why != "" {
				res.NotRun = append(res.NotRun, NotRun{Experiment: exp.Name, Reason: why, ExitCode: run.ExitFailed})
				fmt.Fprintf(log, "gameday %s: [%d/%d] %s not run: %s\n", s.Name, i+1, n, exp.Name, why)
				if !s.ContinueOnFailure {
					stop = fmt.Sprintf("%s did not run and continue_on_failure is off", exp.Name)
				}
				continue
			}
		}
		fmt.Fprintf(log, "gameday %s: [%d/%d] %s (seed %d)\n", s.Name, i+1, n, exp.Name, eo.Seed)
		rep, err := o.Run(ctx, exp, eo)
		if rep == nil {
			rep = &report.Report{Schema: report.Schema, Experiment: exp.Name, File: exp.File, Started: o.Now(), Ended: o.Now(),
				ExitCode: run.ExitTool, Verdict: "error"}
		}
		if err != nil && rep.Reason == "" {
			rep.Reason = err.Error()
		}
		res.Reports = append(res.Reports, rep)
		fmt.Fprintf(log, "gameday %s: [%d/%d] %s: %s (exit %d)\n", s.Name, i+1, n, exp.Name, rep.Verdict, rep.ExitCode)
		switch {
		case ctx.Err() != nil:
			stop = "the game-day was interrupted"
		case rep.ExitCode != run.ExitHeld && !s.ContinueOnFailure:
			stop = fmt.Sprintf("%s did not hold and continue_on_failure is off", exp.Name)
		}
	}
	res.Ended = o.Now()
	res.ExitCode = worst(res)
	res.Verdict = verdict(res.ExitCode)
	dir := reportDir(s, o)
	err := writeRun(dir, res)
	return res, err
}

func (o Options) withDefaults() Options {
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Run == nil {
		o.Run = run.Run
	}
	if o.Gate == nil {
		o.Gate = run.SteadyState
	}
	if o.Sleep == nil {
		o.Sleep = run.Sleep
	}
	return o
}

// reportDir is the suite's report folder: the option, else report_dir
// relative to the suite file, else reports/ beside it.
func reportDir(s *experiments.Suite, o Options) string {
	if o.ReportDir != "" {
		return o.ReportDir
	}
	d := s.ReportDir
	if d == "" {
		d = DefaultReportDir
	}
	if filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(filepath.Dir(s.File), d)
}

// withSuite is a copy of exp with the suite's shared stack applied: its
// local, compose or kubernetes settings replace the experiment's, its vars
// are merged over the experiment's.
func withSuite(exp *experiments.Experiment, s *experiments.Suite) *experiments.Experiment {
	e := *exp
	st := s.Stack
	if st.Local != nil || st.Compose != "" || st.Kubernetes != nil {
		e.Stack.Local, e.Stack.Compose, e.Stack.Project, e.Stack.Kubernetes = st.Local, st.Compose, st.Project, st.Kubernetes
		if k := st.Kubernetes; k != nil && k.Kubeconfig != "" && !filepath.IsAbs(k.Kubeconfig) && !strings.HasPrefix(k.Kubeconfig, "~/") {
			// relative to the suite, as compose
			if abs, err := filepath.Abs(filepath.Join(filepath.Dir(s.File), k.Kubeconfig)); err == nil {
				kc := *k
				kc.Kubeconfig = abs
				e.Stack.Kubernetes = &kc
			}
		}
		if st.Compose != "" && !filepath.IsAbs(st.Compose) {
			// relative to the suite; the engine reads it relative to the experiment
			abs, err := filepath.Abs(filepath.Join(filepath.Dir(s.File), st.Compose))
			if err == nil {
				e.Stack.Compose = abs
			}
		}
	}
	if len(st.Vars) > 0 {
		e.Stack.Vars = maps.Clone(e.Stack.Vars)
		if e.Stack.Vars == nil {
			e.Stack.Vars = map[string]string{}
		}
		maps.Copy(e.Stack.Vars, st.Vars)
	}
	return &e
}

// cooldown pauses (between experiments), then judges exp's steady state
// until it holds. why is set when the gate stayed shut; err when ctx ended.
func cooldown(ctx context.Context, c *experiments.Cooldown, pause bool, exp *experiments.Experiment, eo run.Options, o Options, log io.Writer) (why string, err error) {
	if pause && c != nil && c.For > 0 {
		fmt.Fprintf(log, "gameday: cool-down %s before %s\n", c.For, exp.Name)
		if err := o.Sleep(ctx, c.For.D()); err != nil {
			return "", err
		}
	}
	if !c.Gate() || exp.Stack.Local != nil || exp.SteadyState == nil {
		return "", nil
	}
	within := DefaultGateWithin
	if c != nil && c.Within > 0 {
		within = c.Within.D()
	}
	deadline := o.Now().Add(within)
	eo.Quiet = true
	for attempt := 1; ; attempt++ {
		ok, measured, gerr := o.Gate(ctx, exp, eo)
		if ctx.Err() != nil {
			return "", context.Cause(ctx)
		}
		switch {
		case gerr != nil:
			measured = gerr.Error()
		case ok:
			fmt.Fprintf(log, "gameday: steady state before %s holds: %s\n", exp.Name, measured)
			return "", nil
		}
		fmt.Fprintf(log, "gameday: steady state before %s not yet (attempt %d): %s\n", exp.Name, attempt, measured)
		if !o.Now().Before(deadline) {
			return fmt.Sprintf("the steady state did not hold within %s (last: %s)", within, measured), nil
		}
		if err := o.Sleep(ctx, time.Second); err != nil {
			return "", err
		}
	}
}

// worst is the exit code of a game-day: tool errors first, then invalid,
// aborted, failed (a gate that stayed shut counts as failed).
func worst(r *Result) int {
	code := run.ExitHeld
	up := func(c int) {
		if report.ExitRank(c) > report.ExitRank(code) {
			code = c
		}
	}
	for _, rep := range r.Reports {
		up(rep.ExitCode)
	}
	for _, n := range r.NotRun {
		up(n.ExitCode)
	}
	return code
}

func verdict(code int) string {
	switch code {
	case run.ExitHeld:
		return "held"
	case run.ExitFailed:
		return "failed"
	case run.ExitAborted:
		return "aborted"
	case run.ExitInconclusive:
		return "inconclusive"
	}
	return "error"
}

// errNoRuns is returned when a history has nothing to show.
var errNoRuns = errors.New("no runs in the index")
