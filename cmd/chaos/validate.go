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
	var vf varFlag
	c := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check experiment and suite files and report every problem as file:line:col",
		Long: "Validate reads each experiment or suite named, and in folders every .yaml/.yml file below them that\n" +
			"declares version: chaos/v1 (others — CI files, compose files — are skipped and counted), and reports\n" +
			"every problem at once. Exit 0 when all are valid, 2 when any is not.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			vars, err := vf.vars()
			if err != nil {
				return err
			}
			reg := registry(vars)
			files, skipped, err := experimentFiles(args)
			if err != nil {
				return err
			}
			if skipped > 0 {
				fmt.Fprintf(stdout, "skipped %d YAML file(s) that do not declare version: %s\n", skipped, experiments.Version)
			}
			bad := 0
			for _, f := range files {
				exp, err := validateFile(f, reg) // exp is set for an experiment (not a suite), to show its command checks
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
	vf.add(c)
	return c
}

// validateFile reads f once (through safefile: a regular file of at most
// 8 MiB) and parses it as a suite when it says kind: suite, else as an
// experiment, which it returns.
func validateFile(f string, reg experiments.Registry) (*experiments.Experiment, error) {
	data, err := safefile.Read(f, "experiment")
	var fe *safefile.Error
	if errors.As(err, &fe) {
		return nil, experiments.Problems{{File: f, Msg: fe.Msg}}
	} else if err != nil {
		return nil, err
	}
	if experiments.IsSuite(data) {
		_, err = experiments.ParseSuite(f, data, reg)
		return nil, err
	}
	return experiments.Parse(f, data, reg)
}

// experimentFiles expands folders into the YAML files below them that
// declare version: chaos/v1, and counts the others it skipped. A file named
// on the command line is always validated.
func experimentFiles(args []string) (files []string, skipped int, err error) {
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", a, errors.Unwrap(err))
		}
		if !st.IsDir() {
			files = append(files, a)
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				return nil
			}
			if data, err := safefile.Read(p, "experiment"); err == nil && !experiments.Declared(data) {
				skipped++
				return nil
			}
			files = append(files, p)
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, skipped, fmt.Errorf("no experiment or suite files (declaring version: %s) in %s; %d other YAML file(s) skipped", experiments.Version, strings.Join(args, ", "), skipped)
	}
	return files, skipped, nil
}
