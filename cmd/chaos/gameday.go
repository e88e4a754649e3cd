package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/experiments/gameday"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/verify/report"
)

type gamedayOptions struct {
	schedule      string
	runNow        bool
	reportDir     string
	variant       string
	seed          int64
	stateDir      string
	quiet         bool
	output        string
	metricsListen string
	vars          varFlag
}

func newGamedayCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &gamedayOptions{}
	c := &cobra.Command{
		Use:   "gameday SUITE.yaml",
		Short: "Run a suite of experiments (a game-day) once, or on a cron schedule",
		Long: "Gameday runs the experiments of a suite file (kind: suite) one after another, with a cool-down and a\n" +
			"steady-state gate between them, writes every run's reports into a dated folder of the suite's report_dir\n" +
			"and appends the run to its history (index.jsonl, index.html with time-to-recover trends).\n" +
			"It exits with the worst exit code of the experiments and names the ones that did not hold.\n\n" +
			"With --schedule \"0 3 * * MON\" (or --schedule suite for the suite's own schedule) it keeps running and\n" +
			"starts a game-day on every tick: never two at once (a tick during a run is skipped and logged), missed\n" +
			"ticks give one run, and SIGTERM lets the run in progress roll back before it exits.",
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return fmt.Errorf("--output %q is not valid (valid: text, json)", o.output)
			}
			if o.variant != "" {
				if err := checkVariant(o.variant); err != nil {
					return err
				}
			}
			vars, err := o.vars.vars()
			if err != nil {
				return err
			}
			suite, err := experiments.LoadSuite(args[0], registry(vars))
			if err != nil {
				return err
			}
			var metrics *runMetrics
			if o.metricsListen != "" {
				m, stop, err := startMetrics(o.metricsListen, stderr)
				if err != nil {
					return err
				}
				defer stop()
				metrics = m
			}
			if o.schedule == "" {
				res, err := o.runOnce(c.Context(), suite, metrics, stdout, stderr)
				if err != nil {
					return err
				}
				return exitError{code: res.ExitCode}
			}
			return o.loop(c.Context(), args[0], suite, metrics, stdout, stderr)
		},
	}
	f := c.Flags()
	f.StringVar(&o.schedule, "schedule", "", "keep running and start a game-day on this cron schedule (minute hour day-of-month month day-of-week, e.g. \"0 3 * * MON\"; \"suite\": the suite's schedule)")
	f.BoolVar(&o.runNow, "run-now", false, "with --schedule: also run once right away")
	f.StringVar(&o.reportDir, "report-dir", "", "report folder (default: the suite's report_dir, relative to the suite file)")
	o.vars.add(c)
	f.StringVar(&o.variant, "variant", "", "remove one gateway behaviour in every experiment ("+variantList()+")")
	f.Int64Var(&o.seed, "seed", 0, "seed of the first experiment, the next get seed+1, … (default: the suite's seed, else the clock)")
	f.StringVar(&o.stateDir, "state-dir", "", "folder for run journals (default $CHAOS_STATE_DIR or $XDG_STATE_HOME/chaos)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no live view on stderr")
	f.StringVarP(&o.output, "output", "o", "text", "result format on stdout: text (summary table) or json (the index entry of the run)")
	f.StringVar(&o.metricsListen, "metrics-listen", "", "serve chaos's own Prometheus metrics here (e.g. 127.0.0.1:9464): chaos_fault_active, fault start and end times, last game-day result")
	return c
}

// runOnce runs the suite once and prints its result.
func (o *gamedayOptions) runOnce(ctx context.Context, suite *experiments.Suite, m *runMetrics, stdout, stderr io.Writer) (*gameday.Result, error) {
	live := newLive(stderr)
	opts := gameday.Options{ReportDir: o.reportDir, Seed: o.seed, StateDir: o.stateDir, Stderr: live, Quiet: o.quiet,
		Engine: runpkg.Options{Stderr: live, Stacks: stacks}}
	if o.variant != "" {
		opts.Variant = []string{o.variant}
	}
	if m != nil {
		opts.Run = func(ctx context.Context, exp *experiments.Experiment, eo runpkg.Options) (*report.Report, error) {
			eo.OnFault = func(fault, kind string, on bool, at time.Time) { m.onFault(exp.Name, fault, kind, on, at) }
			m.experiment(exp.Name, true)
			defer m.experiment(exp.Name, false)
			return runpkg.Run(ctx, exp, eo)
		}
	}
	res, err := gameday.Run(ctx, suite, opts)
	live.Close()
	m.gameday(suite.Name, res.ExitCode, res.Ended)
	if o.output == "json" {
		if perr := printIndexEntry(stdout, res); perr != nil {
			return res, perr
		}
	} else {
		printGameday(stdout, res)
	}
	if res.Dir != "" {
		fmt.Fprintf(stderr, "chaos: reports in %s (history: %s)\n", res.Dir, gamedayIndex(res))
	}
	if err != nil {
		fmt.Fprintf(stderr, "chaos: writing the game-day reports: %v\n", err)
		return res, exitError{code: runpkg.ExitTool}
	}
	return res, nil
}

func gamedayIndex(res *gameday.Result) string {
	return filepath.Join(filepath.Dir(res.Dir), gameday.IndexHTML)
}

// printGameday prints the summary table of every experiment that ran, those
// that did not, and the verdict naming what failed.
func printGameday(w io.Writer, res *gameday.Result) {
	if len(res.Reports) > 0 {
		runpkg.PrintSummary(w, res.Reports...)
	}
	for _, n := range res.NotRun {
		fmt.Fprintf(w, "not run: %s: %s\n", n.Experiment, n.Reason)
	}
	fmt.Fprintf(w, "\ngameday %s: %s (exit %d: %s)\n", res.Suite, strings.ToUpper(res.Verdict), res.ExitCode, report.ExitMeaning(res.ExitCode))
	for _, f := range res.Failing() {
		fmt.Fprintf(w, "  did not hold: %s\n", f)
	}
}

func printIndexEntry(w io.Writer, res *gameday.Result) error {
	type out struct {
		Suite    string           `json:"suite"`
		Verdict  string           `json:"verdict"`
		ExitCode int              `json:"exit_code"`
		Dir      string           `json:"dir"`
		Failing  []string         `json:"failing,omitempty"`
		NotRun   []gameday.NotRun `json:"not_run,omitempty"`
		Reports  []*report.Report `json:"reports"`
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out{res.Suite, res.Verdict, res.ExitCode, res.Dir, res.Failing(), res.NotRun, res.Reports})
}

// loop runs the suite on its schedule until SIGINT or SIGTERM. The suite
// file is read again before every run, so edits apply to the next one and
// every run starts from fresh experiment values.
func (o *gamedayOptions) loop(ctx context.Context, file string, suite *experiments.Suite, m *runMetrics, stdout, stderr io.Writer) error {
	spec := o.schedule
	if spec == "suite" {
		if suite.Schedule == "" {
			return fmt.Errorf("--schedule suite: %s has no schedule (set schedule: \"0 3 * * MON\" or give one)", file)
		}
		spec = suite.Schedule
	}
	sch, err := experiments.ParseSchedule(spec)
	if err != nil {
		return fmt.Errorf("--schedule: %w", err)
	}
	last := runpkg.ExitHeld
	s := &gameday.Scheduler{Schedule: sch, Log: stderr, RunNow: o.runNow,
		Run: func(ctx context.Context, _ time.Time) {
			vars, _ := o.vars.vars() // checked before the first run
			st, err := experiments.LoadSuite(file, registry(vars))
			if err != nil {
				fmt.Fprintf(stderr, "chaos: %s is invalid now, skipping this run:\n%v\n", file, err)
				return
			}
			res, _ := o.runOnce(ctx, st, m, stdout, stderr)
			if res != nil {
				last = res.ExitCode
			}
		}}
	fmt.Fprintf(stderr, "chaos: game-day %s on schedule %q\n", suite.Name, spec)
	_ = s.Loop(ctx)
	if last == runpkg.ExitAborted {
		return exitError{code: runpkg.ExitAborted}
	}
	return nil
}
