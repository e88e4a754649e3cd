// Package run is the engine: preflight → baseline → inject → observe →
// rollback → recover → verdict. It is the only package that knows the
// experiment format, the faults and the checks together. Rollback runs on
// every exit path, on a context that Ctrl-C and SIGTERM do not cancel.
package run

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/lease"
	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/load"
	"github.com/chaos-sre/chaos/verify/report"
)

// Options are the knobs of one run.
type Options struct {
	Seed     int64     // 0 picks one from the clock (reported)
	DryRun   bool      // print the plan, touch nothing
	StateDir string    // where journals live
	Variant  []string  // overrides stack.local.variant (chaos demo --variant)
	Stacks   Stacks    // starts stack.local (cmd/chaos: the example stack); nil: stack.local cannot run
	Stdout   io.Writer // results
	Stderr   io.Writer // progress
	StackLog io.Writer // the local stack's own output; default discarded
	Quiet    bool      // no progress lines
	// RollbackTimeout bounds rollback; default 30s.
	RollbackTimeout time.Duration
	// OnFault, when set, is told as each fault goes on (just before it is
	// injected) and off (once rolled back): run annotations for dashboards
	// (chaos run --metrics-listen). It must return quickly.
	OnFault func(fault, kind string, on bool, at time.Time)
}

// DefaultStateDir is $CHAOS_STATE_DIR, else $XDG_STATE_HOME/chaos, else
// ~/.local/state/chaos.
func DefaultStateDir() string {
	if d := os.Getenv("CHAOS_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "chaos")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "chaos-state")
	}
	return filepath.Join(home, ".local", "state", "chaos")
}

// JournalDir is where a state folder keeps run journals.
func JournalDir(stateDir string) string { return filepath.Join(stateDir, "journal") }

type plannedFault struct {
	spec    experiments.FaultSpec
	targets []targets.Target
	rep     *report.FaultReport
	start   time.Time
	end     time.Time
	on      bool
}

type plannedCheck struct {
	spec experiments.CheckSpec
	rep  *report.CheckReport
}

// engine is one run's state.
type engine struct {
	exp    *experiments.Experiment
	o      Options
	rep    *Report
	rng    *rand.Rand
	world  *world
	gen    *load.Generator
	faults []*plannedFault
	checks []*plannedCheck
	j      *journal.Journal
	leases *lease.Set
	log    io.Writer
	self   *selfMonitor // chaos's own health (selfhealth.go)

	mu          sync.Mutex
	start       time.Time
	baselineEnd time.Time
	rollbackAt  time.Time
	end         time.Time
	phase       string
}

// Run runs one experiment. The report is always returned (with its exit code);
// the error explains a non-zero exit that is not a check failure.
func Run(ctx context.Context, exp *experiments.Experiment, o Options) (rep *Report, err error) {
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Seed == 0 {
		o.Seed = time.Now().UnixNano() & 0x7fffffffffff
	}
	if o.StateDir == "" {
		o.StateDir = DefaultStateDir()
	}
	if o.RollbackTimeout == 0 {
		o.RollbackTimeout = 30 * time.Second
	}
	runID := newRunID("", o.Seed)
	e := &engine{
		exp: exp, o: o,
		rng: rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x5bd1e995)),
		rep: &report.Report{Schema: report.Schema, Experiment: exp.Name, File: exp.File, Run: runID, Seed: o.Seed, Started: time.Now()},
		log: o.Stderr,
	}
	if o.Quiet {
		e.log = io.Discard
	}
	defer func() {
		if p := recover(); p != nil {
			err = toolErr(fmt.Errorf("internal error: %v", p))
		}
		e.rep.Ended = time.Now()
		code := ExitHeld
		var xe *ExitError
		switch {
		case err == nil && len(e.rep.Failed()) > 0:
			code = ExitFailed
		case errors.As(err, &xe):
			code = xe.Code
		case err != nil:
			code = ExitTool
		}
		e.rep.ExitCode, e.rep.Verdict = code, verdictOf(code)
		if err != nil && e.rep.Reason == "" {
			e.rep.Reason = err.Error()
		}
		rep = e.rep
	}()
	return e.rep, e.run(ctx, runID)
}

func (e *engine) progress(format string, args ...any) {
	fmt.Fprintf(e.log, "chaos: %s: %s\n", e.exp.Name, fmt.Sprintf(format, args...))
}

func (e *engine) run(ctx context.Context, runID string) error {
	e.progress("preflight (run %s, seed %d)", runID, e.o.Seed)
	e.warnLeftovers()
	if e.o.DryRun {
		return e.dryRun(ctx)
	}
	w, err := prepare(ctx, e.exp, runID, e.o)
	if err != nil {
		return err
	}
	e.world = w
	defer func() {
		if cerr := w.close(); cerr != nil {
			e.progress("stopping the local stack: %v", cerr)
		}
	}()
	e.rep.Stack = w.started
	if err := e.plan(ctx); err != nil {
		return err
	}
	cfg, err := loadConfig(e.exp, w, e.o.Seed)
	if err != nil {
		return err
	}
	e.rep.Load.URL = cfg.URL
	gen, err := load.New(cfg)
	if err != nil {
		return invalid("load: %v", err)
	}
	e.gen = gen
	if err := e.openJournal(runID); err != nil {
		return err
	}
	defer e.closeOwnership()
	if err := e.takeLeases(ctx); err != nil {
		return err
	}
	return e.phases(ctx)
}

// plan resolves and picks every fault's targets and expands variables.
func (e *engine) plan(ctx context.Context) error {
	w := e.world
	for i := range e.exp.Checks {
		c := &e.exp.Checks[i]
		if err := w.expandAll(fmt.Sprintf("checks[%d] (%s)", i, c.Name), c.Check); err != nil {
			return err
		}
		if r, ok := c.Check.(verify.Resolving); ok {
			r.UseResolver(w.resolver)
		}
		if k, ok := c.Check.(verify.KubeChecker); ok && w.kube != nil {
			k.UseKube(w.kube)
		}
		e.checks = append(e.checks, &plannedCheck{spec: *c, rep: &report.CheckReport{Name: c.Name, Kind: c.Kind}})
	}
	for i, f := range e.exp.Faults {
		if err := w.expandAll(fmt.Sprintf("faults[%d] (%s)", i, f.Name), f.Params); err != nil {
			return err
		}
		matches, err := w.resolver.Resolve(ctx, f.Target)
		if err != nil {
			return invalid("faults[%d] (%s): %v", i, f.Name, err)
		}
		picked, err := targets.Pick(matches, f.Target.Pick, e.rng)
		if err != nil {
			return invalid("faults[%d] (%s): %v", i, f.Name, err)
		}
		f.Params = w.viaAgent(e.exp, f, picked)
		_, routed := f.Params.(*remote.Fault)
		if err := faults.Preflight(ctx, f.Kind, f.Params, picked); err != nil {
			if errors.Is(err, targets.ErrRefused) {
				return invalid("faults[%d] (%s): %v", i, f.Name, err)
			}
			return toolErr(fmt.Errorf("faults[%d] (%s): %w", i, f.Name, err))
		}
		if why := containerTargetsOnly(f.Kind, picked); why != "" && !routed {
			return invalid("faults[%d] (%s): %s", i, f.Name, why)
		}
		fr := &report.FaultReport{Name: f.Name, Kind: f.Kind, Mechanism: mechanism(f.Kind)}
		if m, ok := f.Params.(faults.Mechanismer); ok && m.Mechanism() != "" {
			fr.Mechanism = m.Mechanism()
		}
		for _, t := range picked {
			fr.Targets = append(fr.Targets, t.Name)
		}
		e.faults = append(e.faults, &plannedFault{spec: f, targets: picked, rep: fr})
		e.rep.Faults = append(e.rep.Faults, *fr)
		e.progress("fault %s (%s) → %v via %s, at +%s for %s", f.Name, f.Kind, fr.Targets, fr.Mechanism, f.At, f.For)
	}
	return nil
}

// mechanism is how a fault of kind is brought in, as its family says (the
// fault may say more once injected: faults.Mechanismer).
func mechanism(kind string) string { return cmp.Or(kinds.All[kind].Mechanism(), kind) }

func loadConfig(exp *experiments.Experiment, w *world, seed int64) (load.Config, error) {
	l := exp.Load
	if err := w.expandAll("load", &l); err != nil {
		return load.Config{}, err
	}
	body, stream, err := bodyOf(l)
	if err != nil {
		return load.Config{}, invalid("load.body: %v", err)
	}
	cfg := load.Config{
		URL: l.URL, Method: l.Method, Headers: l.Headers, Body: body, Stream: stream,
		Timeout: l.Timeout.D(), Connections: l.Connections, Seed: seed, FreshConnections: l.FreshConnections,
		MaxDuration: maxDuration(exp),
	}
	if l.Rate > 0 {
		cfg.Stages = []load.Stage{{Rate: l.Rate.PerSecond()}}
	}
	for _, s := range l.Stages {
		cfg.Stages = append(cfg.Stages, load.Stage{Rate: s.Rate.PerSecond(), For: s.For.D(), RampTo: s.RampTo.PerSecond()})
	}
	for _, c := range l.Classes {
		cfg.Classes = append(cfg.Classes, load.Class{Name: c.Name, Share: c.Share.Fraction(), Headers: c.Headers, FreshConnections: c.FreshConnections})
	}
	if l.Degraded != nil {
		cfg.Degraded = &load.Marker{Header: l.Degraded.Header, JSON: l.Degraded.JSON, Equals: l.Degraded.Equals}
	}
	return cfg, nil
}

// maxDuration bounds the load: baseline + last fault end + recovery + slack.
func maxDuration(exp *experiments.Experiment) time.Duration {
	d := baselineFor(exp) + recoveryMax(exp) + 30*time.Second
	var last time.Duration
	for _, f := range exp.Faults {
		if end := f.At.D() + f.For.D(); end > last {
			last = end
		}
	}
	return d + last
}

// prefixWriter starts every line written through it with a prefix, so fault
// progress from experiments run side by side stays attributable.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		out = append(out, p.prefix...)
		out = append(out, bytes.TrimLeft(line, " ")...)
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// runs counts the runs this process has started.
var runs atomic.Int64

// newRunID names a run: its start (UTC, to the second), seed and pid, and
// for every run after a process's first its number in the process, so two
// runs that one process starts in the same second with one seed (tests, a
// suite) never share journal entries, leases or live undos.
func newRunID(prefix string, seed int64) string {
	id := prefix + time.Now().UTC().Format("20060102T150405") + "-" + strconv.FormatInt(seed%100000, 10) + "-" + strconv.Itoa(os.Getpid())
	if n := runs.Add(1); n > 1 {
		id += "-" + strconv.FormatInt(n, 10)
	}
	return id
}
