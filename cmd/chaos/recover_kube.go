package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/lease"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// recoverKube undoes the Kubernetes changes of dead runs from the marks on
// the cluster's objects: after the journal pass (which undid this host's
// dead runs with journals), what is left was made from another machine, or
// by a run whose journal is lost. A live run's marks are left alone.
func recoverKube(ctx context.Context, o recoverOptions, journalDir, leaseDir string, t *recoverTally, stdout, stderr io.Writer) {
	found, err := kube.Scan(ctx, o.cluster)
	if err != nil {
		t.failed++
		fmt.Fprintf(stderr, "chaos: kubernetes: %v\n", err)
		if len(found) == 0 {
			return
		}
	}
	runs := map[string]journal.Leftover{}
	if left, err := journal.Scan(journalDir); err == nil {
		for _, l := range left {
			runs[l.Run] = l
		}
	}
	host, _ := os.Hostname()
	type outcome struct {
		f        kube.Found
		live     string
		err      error
		released bool
	}
	var todo []*outcome
	for _, f := range found {
		if o.run != "" && f.Mark.Run != o.run && f.Err == nil {
			continue
		}
		oc := &outcome{f: f}
		if f.Err == nil {
			oc.live = markAlive(f.Mark, host, runs, o)
		}
		todo = append(todo, oc)
	}
	undoAll(todo, func(oc *outcome) {
		if oc.live != "" {
			return
		}
		oc.err = oc.f.Undo(ctx)
		if oc.f.Mark.Host == host && (oc.err == nil || faults.IsNotSame(oc.err)) {
			// the run's lease on this host goes with its change
			oc.released = lease.ReleaseStale(leaseDir, oc.f.Ref.LeaseKey(), oc.f.Mark.Run) == nil
		}
	})
	for _, oc := range todo {
		f := oc.f
		var changed *kube.ChangedError
		switch {
		case oc.live != "":
			t.live++
			fmt.Fprintf(stdout, "left %s (%s set to %s): %s\n", f, f.Field(), f.Mark.Set, oc.live)
		case errors.As(oc.err, &changed):
			t.skipped++
			fmt.Fprintf(stdout, "skipped %s: %v; its mark removed\n", f, oc.err)
		case faults.IsNotSame(oc.err):
			t.skipped++
			fmt.Fprintf(stdout, "skipped %s: %v\n", f, oc.err)
		case oc.err != nil:
			t.failed++
			fmt.Fprintf(stderr, "could not undo %s: %v\n", f.Ref, oc.err)
		default:
			t.undone++
			fmt.Fprintf(stdout, "undid %s: %s back to %s\n", f, f.Field(), f.Mark.Old)
		}
	}
}

// markAlive says why the run of a mark is taken for alive ("" when dead):
// on this host, its journal is locked or its process still runs; from
// another host, it renewed the mark less than --stale ago (and no --force).
func markAlive(m kube.Mark, host string, runs map[string]journal.Leftover, o recoverOptions) string {
	age := m.Age(time.Now())
	if m.Host == host {
		if l, ok := runs[m.Run]; ok && l.Live {
			return fmt.Sprintf("run %s is still running (its journal is locked); its faults are its own to roll back", m.Run)
		}
		if m.PidStart != 0 {
			if start, err := faults.StartTime(m.Pid); err == nil && start == m.PidStart {
				return fmt.Sprintf("run %s is still running on this host (pid %d); its faults are its own to roll back", m.Run, m.Pid)
			}
			return ""
		}
	}
	if o.force || age > o.stale {
		return ""
	}
	return fmt.Sprintf("run %s of host %s renewed it %s ago: alive, or dead for less than --stale %s; --force undoes it anyway", m.Run, m.Host, age, o.stale)
}

// undoAll calls undo on every item, at most kclient.Concurrency at once,
// and waits for them all. Unlike kclient.Each it starts every one even once
// ctx is done: recover tries every undo (each bounded by its own ctx) and
// reports each one's own outcome.
func undoAll[T any](items []T, undo func(T)) {
	sem := make(chan struct{}, kclient.Concurrency)
	var wg sync.WaitGroup
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			undo(it)
		}()
	}
	wg.Wait()
}
