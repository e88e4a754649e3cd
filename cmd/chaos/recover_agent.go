package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/remote"
)

// recoverAgents asks every chaos agent of the cluster what it holds (after
// the journal pass, which undid through the agents what this host's dead
// runs journaled) and undoes the faults of dead runs: a run of this host
// whose journal was unlocked when recover began (left), or a fault whose
// lease already ran out (its agent should have undone it). A fault of a
// run with no journal here (another machine's, or its journal lost) is
// left to its agent, which undoes it when the run stops renewing it;
// --force undoes it now.
func recoverAgents(ctx context.Context, o recoverOptions, left []journal.Leftover, t *recoverTally, stdout, stderr io.Writer) {
	held, notReady, err := remote.Sweep(ctx, o.cluster)
	for _, n := range notReady {
		fmt.Fprintf(stderr, "chaos: warning: chaos agent %s: not asked what it holds\n", n)
	}
	if err != nil {
		t.failed++
		fmt.Fprintf(stderr, "chaos: kubernetes: %v\n", err)
	}
	runs := map[string]journal.Leftover{}
	for _, l := range left {
		runs[l.Run] = l
	}
	type outcome struct {
		h    remote.Held
		live string
		err  error
	}
	now := time.Now()
	var todo []*outcome
	for _, h := range held {
		if o.run != "" && h.Applied.Run != o.run {
			continue
		}
		todo = append(todo, &outcome{h: h, live: agentFaultAlive(h, runs, o.force, now)})
	}
	undoAll(todo, func(oc *outcome) {
		if oc.live == "" {
			oc.err = oc.h.Release(ctx)
		}
	})
	for _, oc := range todo {
		switch {
		case oc.live != "":
			t.live++
			fmt.Fprintf(stdout, "left %s: %s\n", oc.h, oc.live)
		case oc.err != nil:
			t.failed++
			fmt.Fprintf(stderr, "could not undo %s: %v\n", oc.h, oc.err)
		default:
			t.undone++
			fmt.Fprintf(stdout, "undid %s\n", oc.h)
		}
	}
}

// agentFaultAlive says why the run of a fault an agent holds is taken for
// alive ("" when it is dead or --force): its journal on this host is
// locked, or it has no journal here and its lease has not run out.
func agentFaultAlive(h remote.Held, runs map[string]journal.Leftover, force bool, now time.Time) string {
	run := h.Applied.Run
	if l, ok := runs[run]; ok {
		if l.Live {
			return fmt.Sprintf("run %s is still running (its journal is locked); its faults are its own to roll back", run)
		}
		return ""
	}
	exp := h.Expires()
	if force || exp.IsZero() || !now.Before(exp) {
		return ""
	}
	return fmt.Sprintf("run %s has no journal on this host (another machine's, or its journal is gone), and its lease runs until %s (in %s): the agent undoes it then unless the run renews it; --force undoes it now",
		run, exp.Local().Format(time.TimeOnly), exp.Sub(now).Round(time.Second))
}
