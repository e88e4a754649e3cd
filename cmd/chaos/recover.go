package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
)

func newRecoverCmd(stdout, stderr io.Writer) *cobra.Command {
	var stateDir string
	c := &cobra.Command{
		Use:   "recover",
		Short: "Undo what runs that did not finish left behind, from their journals",
		Long:  "Recover reads the journal of every run that did not finish (killed, crashed) and undoes each change\nstill pending, newest first. Undoing is idempotent: a change already gone counts as undone, and running\nrecover twice is harmless. Exit 0 when nothing is left, 4 when something could not be undone.",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if stateDir == "" {
				stateDir = runpkg.DefaultStateDir()
			}
			dir := runpkg.JournalDir(stateDir)
			left, err := journal.Scan(dir)
			if err != nil {
				return &runpkg.ExitError{Code: runpkg.ExitTool, Err: err}
			}
			failed := 0
			undone := 0
			for _, l := range left {
				for _, e := range l.Pending {
					if err := faults.Undo(c.Context(), e); err != nil {
						failed++
						fmt.Fprintf(stderr, "run %s: could not undo %s on %s (%s): %v\n", l.Run, e.Fault, e.Target, e.Action, err)
						continue
					}
					if err := journal.MarkUndone(l.Path, e.ID); err != nil {
						failed++
						fmt.Fprintf(stderr, "run %s: %v\n", l.Run, err)
						continue
					}
					undone++
					fmt.Fprintf(stdout, "undid %s on %s (run %s, %s %s)\n", e.Fault, e.Target, l.Run, e.Action, string(e.Data))
				}
			}
			if failed > 0 {
				return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("%d change(s) could not be undone; journals kept in %s", failed, dir)}
			}
			fmt.Fprintf(stdout, "nothing left to undo (%d undone, journals in %s)\n", undone, dir)
			return nil
		},
	}
	c.Flags().StringVar(&stateDir, "state-dir", "", "folder of run journals (default $CHAOS_STATE_DIR or $XDG_STATE_HOME/chaos)")
	return c
}
