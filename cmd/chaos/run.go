package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
)

type runOptions struct {
	seed     int64
	dryRun   bool
	output   string
	stateDir string
	quiet    bool
	variant  []string
}

func (o *runOptions) flags(c *cobra.Command) {
	c.Flags().Int64Var(&o.seed, "seed", 0, "seed for every random choice (0: from the clock; the report says which)")
	c.Flags().StringVarP(&o.output, "output", "o", "text", "result format on stdout: text or json")
	c.Flags().StringVar(&o.stateDir, "state-dir", "", "folder for run journals (default $CHAOS_STATE_DIR or $XDG_STATE_HOME/chaos)")
	c.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "no progress on stderr")
}

func (o *runOptions) check() error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q is not valid (valid: text, json)", o.output)
	}
	for _, v := range o.variant {
		if !validVariant(v) {
			return fmt.Errorf("--variant %q is not valid (valid: %s)", v, strings.Join(variants, ", "))
		}
	}
	return nil
}

var variants = []string{"no-breaker", "no-fallback", "no-shedding", "no-ejection", "no-retry-budget"}

func validVariant(v string) bool {
	for _, k := range variants {
		if v == k {
			return true
		}
	}
	return false
}

func newRunCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Run an experiment: baseline, faults, rollback, recovery, verdict",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			exp, err := experiments.LoadFile(args[0])
			if err != nil {
				return err
			}
			rep, err := runpkg.Run(c.Context(), exp, runpkg.Options{
				Seed: o.seed, DryRun: o.dryRun, StateDir: o.stateDir, Variant: o.variant,
				Stdout: stdout, Stderr: stderr, Quiet: o.quiet,
			})
			if o.dryRun {
				return err
			}
			if perr := printReports(stdout, o.output, rep); perr != nil {
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
	c.Flags().StringSliceVar(&o.variant, "variant", nil, "for stack.local: gateway behaviours to remove ("+strings.Join(variants, ", ")+")")
	return c
}

func printReports(w io.Writer, format string, reps ...*runpkg.Report) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(reps) == 1 {
			return enc.Encode(reps[0])
		}
		return enc.Encode(reps)
	}
	runpkg.PrintSummary(w, reps...)
	return nil
}
