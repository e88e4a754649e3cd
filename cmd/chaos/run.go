package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
)

type runOptions struct {
	reportOptions
	seed     int64
	dryRun   bool
	stateDir string
	quiet    bool
	variant  []string
	vars     varFlag
}

func (o *runOptions) flags(c *cobra.Command) {
	c.Flags().Int64Var(&o.seed, "seed", 0, "seed for every random choice (0: from the clock; the report says which)")
	o.reportOptions.flags(c)
	c.Flags().StringVar(&o.stateDir, "state-dir", "", "folder for run journals (default $CHAOS_STATE_DIR or $XDG_STATE_HOME/chaos)")
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress and no live view on stderr")
	o.vars.add(c)
}

func (o *runOptions) check() error {
	if err := o.reportOptions.check(); err != nil {
		return err
	}
	for _, v := range o.variant {
		if err := checkVariant(v); err != nil {
			return err
		}
	}
	return nil
}

// checkVariant refuses a --variant the plugged-in stack does not know.
func checkVariant(v string) error {
	if !slices.Contains(stacks.Variants(), v) {
		return fmt.Errorf("--variant %q is not valid (valid: %s)", v, variantList())
	}
	return nil
}

// variantList is the plugged-in stack's variants, for messages and help.
func variantList() string { return strings.Join(stacks.Variants(), ", ") }

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{}
	var metricsListen string
	c := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Run an experiment: baseline, faults, rollback, recovery, verdict",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			vars, err := o.vars.vars()
			if err != nil {
				return err
			}
			exp, err := experiments.LoadFile(args[0], registry(vars))
			if err != nil {
				return err
			}
			ro := runpkg.Options{
				Seed: o.seed, DryRun: o.dryRun, StateDir: o.stateDir, Variant: o.variant, Stacks: stacks,
				Stdout: stdout, Quiet: o.quiet,
			}
			if metricsListen != "" && !o.dryRun {
				m, stop, err := startMetrics(metricsListen, stderr)
				if err != nil {
					return err
				}
				defer stop()
				ro.OnFault = func(fault, kind string, on bool, at time.Time) { m.onFault(exp.Name, fault, kind, on, at) }
				m.experiment(exp.Name, true)
				defer m.experiment(exp.Name, false)
			}
			live := newLive(stderr)
			ro.Stderr = live
			rep, err := runpkg.Run(c.Context(), exp, ro)
			live.Close()
			if o.dryRun {
				return err
			}
			if perr := o.emit(stdout, stderr, rep); perr != nil {
				return perr
			}
			if err != nil && rep.ExitCode != runpkg.ExitFailed {
				fmt.Fprintln(stderr, "chaos:", err)
			}
			return exitError{code: rep.ExitCode}
		},
	}
	o.flags(c)
	c.Flags().BoolVar(&o.dryRun, "dry-run", false, "print the plan and touch nothing")
	c.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve chaos's own Prometheus metrics here while it runs (e.g. 127.0.0.1:9464): chaos_fault_active and fault start and end times, to shade dashboards")
	c.Flags().StringSliceVar(&o.variant, "variant", nil, "for stack.local: gateway behaviours to remove ("+variantList()+")")
	return c
}
