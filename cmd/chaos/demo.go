package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/examples"
	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/verify/report"
)

func newDemoCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &runOptions{}
	var variant string
	var only []string
	var serial bool
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run the bundled experiments against the example stack started as local processes",
		Long: "Demo starts the example inference stack (two primary model replicas, a fallback model and a resilient\n" +
			"gateway) as local processes on loopback, once per bundled experiment, runs the experiments side by side\n" +
			"and prints the verdict table. --variant removes one gateway behaviour: the experiments must then fail.",
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if variant != "" {
				o.variant = []string{variant}
			} else {
				o.variant = []string{}
			}
			if err := o.check(); err != nil {
				return err
			}
			vars, err := o.vars.vars()
			if err != nil {
				return err
			}
			exps, err := bundled(only, vars)
			if err != nil {
				return err
			}
			if o.seed == 0 {
				o.seed = time.Now().UnixNano() & 0x7fffffffffff
			}
			reps := make([]*runpkg.Report, len(exps))
			live := newLive(stderr) // one view for every experiment: a line or block each
			var wg sync.WaitGroup
			var mu sync.Mutex
			for i, exp := range exps {
				wg.Add(1)
				do := func() {
					defer wg.Done()
					rep, err := runpkg.Run(c.Context(), exp, runpkg.Options{
						Seed: o.seed + int64(i), StateDir: o.stateDir, Variant: o.variant, Stacks: stacks,
						Stderr: live, Quiet: o.quiet,
					})
					mu.Lock()
					defer mu.Unlock()
					reps[i] = rep
					if err != nil && rep.ExitCode != runpkg.ExitFailed {
						fmt.Fprintf(live, "chaos: %s: %v\n", exp.Name, err)
					}
				}
				if serial {
					do()
				} else {
					go do()
				}
			}
			wg.Wait()
			live.Close()
			if err := o.emit(stdout, stderr, reps...); err != nil {
				return err
			}
			return exitError{code: worst(reps)}
		},
	}
	o.flags(c)
	c.Flags().StringVar(&variant, "variant", "", "remove one gateway behaviour ("+variantList()+")")
	c.Flags().StringSliceVar(&only, "only", nil, "run only these bundled experiments (by name)")
	c.Flags().BoolVar(&serial, "serial", false, "run the experiments one after another instead of side by side")
	return c
}

// worst picks the exit code of a set of runs: tool errors first, then
// aborts, then failed checks.
func worst(reps []*runpkg.Report) int { return report.Worst(reps) }

// bundled parses the experiments embedded in the binary.
func bundled(only []string, vars map[string]string) ([]*experiments.Experiment, error) {
	names, err := fs.Glob(examples.Local, "experiments/local/*.yaml")
	if err != nil {
		return nil, err
	}
	var out []*experiments.Experiment
	var known []string
	for _, n := range names {
		b, err := examples.Local.ReadFile(n)
		if err != nil {
			return nil, err
		}
		exp, err := experiments.Parse(path.Join("examples", n), b, registry(vars))
		if err != nil {
			return nil, fmt.Errorf("bundled experiment %s is invalid: %w", n, err)
		}
		known = append(known, exp.Name)
		if len(only) == 0 || slices.Contains(only, exp.Name) {
			out = append(out, exp)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--only matches no bundled experiment (valid: " + strings.Join(known, ", ") + ")")
	}
	return out, nil
}
