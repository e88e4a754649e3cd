package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/lease"
	"github.com/chaos-sre/chaos/faults/targets"
)

type recoverOptions struct {
	stateDir string
	run      string
	// kubernetes also scans a cluster for the marks runs leave on what
	// they change (see recoverKube).
	kubernetes bool
	cluster    targets.Cluster
	stale      time.Duration
	force      bool
}

func newRecoverCmd(stdout, stderr io.Writer) *cobra.Command {
	var o recoverOptions
	c := &cobra.Command{
		Use:   "recover",
		Short: "Undo what runs that did not finish left behind, from their journals",
		Long: `Recover reads the journal of every run that did not finish (killed, crashed) and undoes each change
still pending, newest first. A run that is still alive holds a lock on its journal: recover leaves its
faults alone and says whose run it is. Before acting, every undo checks that its target is still the one
changed (container ID and creation time, pid and start time, network namespace); a target that was
replaced is reported and skipped. Undoing is idempotent: a change already gone counts as undone, and
running recover twice is harmless. Exit 0 when nothing is left, 4 when something could not be undone or
a journal could not be read.

With --kubernetes, recover then reads the cluster's deployments, statefulsets and nodes for the marks
(chaos.sre/* annotations) that Kubernetes faults write on what they change, so a change made from
another machine is found too. A mark of a run of this host is undone once that run is dead (its journal
unlocked, its process gone); a mark of another host's run once its run stopped renewing it (every 10s)
longer than --stale ago, or with --force. A workload or node someone else changed during the window
keeps their value; only the mark goes. It also asks every chaos agent (namespace chaos-system) what
faults it holds inside pods, and undoes those of a dead run of this host (its journal unlocked) and
those whose lease ran out; a fault of another host's run is left to its agent, which undoes it once
the run stops renewing it (within stack.kubernetes.agent_lease, default 15s), or undone now with
--force.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			for _, f := range []string{"kubeconfig", "context", "stale", "force"} {
				if c.Flags().Changed(f) && !o.kubernetes {
					return &runpkg.ExitError{Code: runpkg.ExitInvalid, Err: fmt.Errorf("--%s goes with --kubernetes", f)}
				}
			}
			return recoverRuns(c.Context(), o, stdout, stderr)
		},
	}
	c.Flags().StringVar(&o.stateDir, "state-dir", "", "folder of run journals (default $CHAOS_STATE_DIR or $XDG_STATE_HOME/chaos)")
	c.Flags().StringVar(&o.run, "run", "", "recover only this run (its id, as `chaos run` and recover print it)")
	c.Flags().BoolVar(&o.kubernetes, "kubernetes", false, "also undo what dead runs left on a Kubernetes cluster, from the marks on its objects")
	c.Flags().StringVar(&o.cluster.Kubeconfig, "kubeconfig", "", "the cluster's kubeconfig (default $KUBECONFIG or ~/.kube/config); with --kubernetes")
	c.Flags().StringVar(&o.cluster.Context, "context", "", "the kubeconfig context (default its current one); with --kubernetes")
	c.Flags().DurationVar(&o.stale, "stale", kube.StaleAfter, "a mark of another host's run is undone once not renewed for this long; with --kubernetes")
	c.Flags().BoolVar(&o.force, "force", false, "undo the marks, and the chaos agents' faults, of other hosts' runs however recently renewed (those runs are known dead); with --kubernetes")
	return c
}

// recoverTally counts what recover did, for its last line and exit code.
type recoverTally struct{ undone, skipped, failed, live int }

func recoverRuns(ctx context.Context, o recoverOptions, stdout, stderr io.Writer) error {
	if o.stateDir == "" {
		o.stateDir = runpkg.DefaultStateDir()
	}
	dir := runpkg.JournalDir(o.stateDir)
	leaseDir, _ := runpkg.LeaseDir(o.stateDir)
	left, err := journal.Scan(dir)
	if err != nil {
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: err}
	}
	var t recoverTally
	found := false
	for _, l := range left {
		if o.run != "" && l.Run != o.run {
			continue
		}
		found = true
		switch {
		case l.Live:
			t.live++
			fmt.Fprintf(stdout, "%s is still running: its faults are its own to roll back; nothing undone\n", l.Meta)
		case l.Err != nil:
			t.failed++
			fmt.Fprintf(stderr, "chaos: %v\n", l.Err)
		default:
			recoverOne(ctx, l.Path, leaseDir, &t, stdout, stderr)
		}
	}
	if o.kubernetes {
		recoverKube(ctx, o, dir, leaseDir, &t, stdout, stderr)
		recoverAgents(ctx, o, left, &t, stdout, stderr)
	} else if o.run != "" && !found {
		fmt.Fprintf(stdout, "run %s left nothing to undo (no journal of it in %s)\n", o.run, dir)
		return nil
	}
	if t.failed > 0 {
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("%d change(s) or journal(s) could not be undone or read; journals kept in %s", t.failed, dir)}
	}
	if o.kubernetes {
		fmt.Fprintf(stdout, "nothing left to undo (%d undone, %d skipped, %d live run(s) left alone; journals in %s, and the cluster's marks)\n", t.undone, t.skipped, t.live, dir)
		return nil
	}
	fmt.Fprintf(stdout, "nothing left to undo (%d undone, %d skipped, %d live run(s) left alone, journals in %s)\n", t.undone, t.skipped, t.live, dir)
	return nil
}

// recoverOne claims a dead run's journal and undoes what it left pending;
// once nothing is, the journal goes and the run's leases are released.
func recoverOne(ctx context.Context, path, leaseDir string, t *recoverTally, stdout, stderr io.Writer) {
	c, err := journal.Claim(path)
	if errors.Is(err, journal.ErrLive) {
		t.live++
		fmt.Fprintf(stdout, "journal %s: its run came back to life; nothing undone\n", path)
		return
	}
	if err != nil {
		t.failed++
		fmt.Fprintf(stderr, "chaos: %v\n", err)
		return
	}
	run := c.Run
	for _, e := range slices.Clone(c.Pending) {
		note, err := undoEntry(ctx, c, e, leaseDir)
		switch {
		case err != nil:
			t.failed++
			fmt.Fprintf(stderr, "run %s: could not undo %s on %s (%s): %v\n", run, e.Fault, e.Target, e.Action, err)
			continue
		case note != "":
			t.skipped++
			fmt.Fprintf(stdout, "skipped %s on %s (run %s): %s\n", e.Fault, e.Target, run, note)
		default:
			t.undone++
			how := ""
			if !e.Done {
				how = ", begun as the run died"
			}
			fmt.Fprintf(stdout, "undid %s on %s (run %s, %s%s)\n", e.Fault, e.Target, run, e.Action, how)
		}
		if err := c.Resolve(e.ID, note); err != nil {
			t.failed++
			fmt.Fprintf(stderr, "run %s: %v\n", run, err)
		}
	}
	if len(c.Pending) == 0 {
		for _, k := range c.Leases {
			if err := lease.ReleaseStale(leaseDir, k, run); err != nil {
				fmt.Fprintf(stderr, "run %s: release lease: %v\n", run, err)
			}
		}
	}
	if err := c.Close(); err != nil {
		t.failed++
		fmt.Fprintf(stderr, "run %s: %v\n", run, err)
	}
}

// undoEntry undoes one pending change of a dead run. note is why it was
// skipped instead (a target its run never leased, one another live run now
// holds, or one that was replaced); nothing is done to such a target.
func undoEntry(ctx context.Context, c *journal.Claimed, e journal.Entry, leaseDir string) (note string, err error) {
	if e.Key != "" {
		if !slices.Contains(c.Leases, e.Key) {
			return "its run never leased " + e.Key + "; nothing done to it", nil
		}
		if h, live, ok := lease.Holding(leaseDir, e.Key); ok && live && h.Run != c.Run {
			return "", fmt.Errorf("%s is now leased by %s; not touching it", e.Target, h)
		}
	}
	err = kinds.Undo(ctx, e)
	if faults.IsNotSame(err) {
		return err.Error(), nil
	}
	return "", err
}
