package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// exitError is returned by commands that decided their own exit code and
// already printed what needed saying.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// run builds the command tree, runs it, and maps the error to an exit code —
// the only place that does.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signalContext()
	defer stop()
	root := newRoot(ctx, stdout, stderr)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var probs experiments.Problems
	if errors.As(err, &probs) {
		fmt.Fprintln(stderr, probs.Error())
		return runpkg.ExitInvalid
	}
	var xe *runpkg.ExitError
	if errors.As(err, &xe) {
		fmt.Fprintln(stderr, "chaos:", xe.Err)
		return xe.Code
	}
	// cobra's own usage errors (unknown flag, wrong args) and everything else
	// about the command line.
	fmt.Fprintln(stderr, "chaos:", err)
	return runpkg.ExitInvalid
}

// signalContext is cancelled by the first SIGINT or SIGTERM; later signals
// only say that rollback is under way, so a second Ctrl-C never leaves a
// fault behind.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(context.Background())
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		first := true
		for s := range ch {
			if first {
				cancel(fmt.Errorf("%v", s))
				first = false
				continue
			}
			fmt.Fprintf(os.Stderr, "chaos: %v again: still rolling back, please wait\n", s)
		}
	}()
	return ctx, func() { signal.Stop(ch); cancel(nil) }
}

func newRoot(ctx context.Context, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "chaos",
		Short:         "Fault injection for AI-inference stacks, with evidence",
		Long:          "chaos brings faults into a running inference stack while real traffic flows, and answers with evidence:\ndid the breakers trip, did degradation kick in, did the SLOs recover, and how fast?\n\nExit codes: 0 every check held · 1 a check failed · 2 invalid input · 3 aborted · 4 could not inject or roll back · 5 inconclusive (chaos itself was starved; no check failed: retry).",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(
		newRunCmd(stdout, stderr),
		newValidateCmd(stdout, stderr),
		newSchemaCmd(stdout),
		newDemoCmd(stdout, stderr),
		newFaultsCmd(stdout),
		newRecoverCmd(stdout, stderr),
		newProxyCmd(stdout, stderr),
		newVersionCmd(stdout),
		newReportCmd(stdout, stderr),
		newGamedayCmd(stdout, stderr),
		newAgentCmd(stderr),
	)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return fmt.Errorf("%w (see `%s --help`)", err, c.CommandPath())
	})
	return root
}

func newVersionCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintf(stdout, "chaos %s (experiment format %s, report %s)\n", version, experiments.Version, runpkg.ReportSchema)
			return nil
		},
	}
}
