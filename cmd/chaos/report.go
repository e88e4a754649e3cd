package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/internal/termsize"
	"github.com/chaos-sre/chaos/verify/report"
)

// reportOptions are the report outputs shared by run, demo and report.
type reportOptions struct {
	output   string
	dir      string
	junit    string
	markdown string
	html     string
}

func (o *reportOptions) flags(c *cobra.Command) {
	c.Flags().StringVarP(&o.output, "output", "o", "text", "result format on stdout: text (summary table) or json ("+report.Schema+")")
	c.Flags().StringVar(&o.dir, "report-dir", "", "write result.json, junit.xml, summary.md and report.html into this folder (several experiments: combined on top, one subfolder each)")
	c.Flags().StringVar(&o.junit, "junit", "", "write JUnit XML here (one test case per check)")
	c.Flags().StringVar(&o.markdown, "markdown", "", "write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY)")
	c.Flags().StringVar(&o.html, "html", "", "write a self-contained HTML report with timeline charts here")
}

func (o *reportOptions) check() error {
	if o.output != "text" && o.output != "json" {
		return fmt.Errorf("--output %q is not valid (valid: text, json)", o.output)
	}
	return nil
}

// emit prints the result on stdout and writes every requested file. A file
// that cannot be written is a tool error (exit 4): the evidence is lost.
func (o *reportOptions) emit(stdout, stderr io.Writer, reps ...*report.Report) error {
	if err := report.Formats[o.output](stdout, reps...); err != nil {
		return err
	}
	var failed bool
	for _, f := range []struct{ path, format string }{{o.junit, "junit"}, {o.markdown, "markdown"}, {o.html, "html"}} {
		if f.path == "" {
			continue
		}
		if err := report.WriteFile(f.path, f.format, reps...); err != nil {
			fmt.Fprintf(stderr, "chaos: writing the %s report: %v\n", f.format, err)
			failed = true
		}
	}
	if o.dir != "" {
		if _, err := report.WriteDir(o.dir, reps...); err != nil {
			fmt.Fprintf(stderr, "chaos: writing reports to %s: %v\n", o.dir, err)
			failed = true
		}
	}
	if failed {
		return exitError{code: runpkg.ExitTool}
	}
	return nil
}

// newLive builds the live view on stderr: redrawn in place on a terminal,
// a plain line every 5 s in CI (CI=true) or when stderr is not a terminal.
func newLive(stderr io.Writer) report.Live {
	f, ok := stderr.(*os.File)
	tty := ok && os.Getenv("CI") != "true" && os.Getenv("TERM") != "dumb"
	if tty {
		cols, err := termsize.Columns(f)
		tty = err == nil
		if tty {
			l := report.NewLive(stderr, true, 0)
			if c, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && c > 0 {
				cols = c
			}
			report.SetWidth(l, cols)
			return l
		}
	}
	return report.NewLive(stderr, false, 5e9)
}

func newReportCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &reportOptions{}
	var exitCode bool
	c := &cobra.Command{
		Use:   "report RESULT.json...",
		Short: "Re-render saved results (result.json) as text, JSON, JUnit, Markdown or HTML",
		Long: "Report reads one or more result.json files written by `chaos run --report-dir` or `-o json` and\n" +
			"writes any format again, e.g.\n  chaos report out/result.json --html report.html --junit junit.xml --markdown summary.md\n" +
			"It exits 0 when it could render everything; with --exit-code it exits with the runs' own worst exit code.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			var reps []*report.Report
			for _, a := range args {
				rs, err := report.ReadFile(a)
				if err != nil {
					return err
				}
				reps = append(reps, rs...)
			}
			if err := o.emit(stdout, stderr, reps...); err != nil {
				return err
			}
			if exitCode {
				return exitError{code: report.Worst(reps)}
			}
			return nil
		},
	}
	o.flags(c)
	c.Flags().BoolVar(&exitCode, "exit-code", false, "exit with the worst exit code of the runs read (4, 2, 3, then 1 a failed check, then 5 inconclusive, then 0)")
	return c
}
