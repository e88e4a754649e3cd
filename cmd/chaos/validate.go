package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/internal/safefile"
)

func newValidateCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check experiment and suite files and report every problem as file:line:col",
		Long:  "Validate reads each experiment (folders: every .yaml/.yml file below them) and reports every problem at once.\nExit 0 when all are valid, 2 when any is not.",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			files, err := experimentFiles(args)
			if err != nil {
				return err
			}
			bad := 0
			for _, f := range files {
				exp, err := validateFile(f) // exp is set for an experiment (not a suite), to show its command checks
				if err != nil {
					bad++
					var probs experiments.Problems
					if errors.As(err, &probs) {
						fmt.Fprintln(stderr, probs.Error())
					} else {
						fmt.Fprintf(stderr, "%s: %v\n", f, err)
					}
					continue
				}
				fmt.Fprintf(stdout, "%s: valid\n", f)
				if exp != nil {
					runpkg.WritePrograms(stdout, exp)
				}
			}
			if bad > 0 {
				fmt.Fprintf(stderr, "%d of %d experiment file(s) invalid\n", bad, len(files))
				return exitError{code: runpkg.ExitInvalid}
			}
			return nil
		},
	}
}

// validateFile reads f once (through safefile: a regular file of at most
// 8 MiB) and parses it as a suite when it says kind: suite, else as an
// experiment, which it returns.
func validateFile(f string) (*experiments.Experiment, error) {
	data, err := safefile.Read(f, "experiment")
	var fe *safefile.Error
	if errors.As(err, &fe) {
		return nil, experiments.Problems{{File: f, Msg: fe.Msg}}
	} else if err != nil {
		return nil, err
	}
	if experiments.IsSuite(data) {
		_, err = experiments.ParseSuite(f, data, experiments.DefaultRegistry())
		return nil, err
	}
	return experiments.Parse(f, data, experiments.DefaultRegistry())
}

// experimentFiles expands folders into the YAML files below them.
func experimentFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a, errors.Unwrap(err))
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml or .yml files in %s", strings.Join(args, ", "))
	}
	return files, nil
}
