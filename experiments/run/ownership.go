package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/lease"
)

// LeaseDir is where runs lease their targets: host-wide (/run/chaos/leases)
// when it can be, else the state folder (then only this user's runs see
// each other's leases).
func LeaseDir(stateDir string) (dir string, hostWide bool) {
	return lease.Dir(filepath.Join(stateDir, "leases"))
}

// warnLeftovers says, before a run, what earlier runs left: journals of
// dead runs with changes still pending, and journals that cannot be read.
// Live runs and journals with nothing pending are not worth a warning.
func (e *engine) warnLeftovers() {
	dir := JournalDir(e.o.StateDir)
	left, err := journal.Scan(dir)
	if err != nil {
		e.progress("warning: %v", err)
		return
	}
	dead, bad := 0, 0
	for _, l := range left {
		switch {
		case l.Live:
		case l.Err != nil:
			bad++
		case len(l.Pending) > 0:
			dead++
		}
	}
	if dead > 0 {
		e.progress("warning: %d unfinished journal(s) in %s from runs that did not finish; run `chaos recover`", dead, dir)
	}
	if bad > 0 {
		e.progress("warning: %d journal(s) in %s cannot be read; `chaos recover` lists them", bad, dir)
	}
}

// openJournal starts the run's journal, locked for the run's life.
func (e *engine) openJournal(runID string) error {
	j, err := journal.Open(JournalDir(e.o.StateDir), journal.Meta{Run: runID, Experiment: e.exp.Name, File: e.exp.File, Started: e.rep.Started})
	if err != nil {
		return toolErr(err)
	}
	e.j = j
	return nil
}

// takeLeases leases every target the faults will hit, before anything is
// injected: a target another run holds stops this run here (exit 4), having
// changed nothing. Two faults of one kind whose windows overlap on the same
// target are an invalid experiment (exit 2): the second would save the
// first's change as the state to restore.
func (e *engine) takeLeases(ctx context.Context) error {
	dir, hostWide := LeaseDir(e.o.StateDir)
	if !hostWide {
		e.progress("leases in %s (the host-wide %s cannot be made): runs of other users do not see them", dir, lease.HostDir)
	}
	e.leases = lease.NewSet(dir)
	type use struct {
		i        int
		from, to time.Duration
		target   string
	}
	seen := map[string][]use{} // kind + key → faults using it
	type want struct{ key, target string }
	var wants []want
	for i, f := range e.faults {
		from, to := f.spec.At.D(), f.spec.At.D()+f.spec.For.D()
		for _, t := range f.targets {
			keys, err := leaseKeys(ctx, f, t)
			if err != nil {
				return toolErr(fmt.Errorf("faults[%d] (%s): %w", i, f.spec.Name, err))
			}
			for _, k := range keys {
				if slices.ContainsFunc(seen[f.spec.Kind+" "+k], func(u use) bool { return u.i == i }) {
					continue // targets of one fault that share a key (a workload's pods): one change, one lease
				}
				for _, u := range seen[f.spec.Kind+" "+k] {
					if u.from < to && from < u.to {
						g := e.faults[u.i]
						return invalid("faults[%d] (%s) and faults[%d] (%s): both are %s on %s at the same time (+%s–+%s and +%s–+%s); the second would take the first's change for the state to restore (valid: one %s per target at a time; merge them, or let one end before the other starts)",
							u.i, g.spec.Name, i, f.spec.Name, f.spec.Kind, t.Name, u.from, u.to, from, to, f.spec.Kind)
					}
				}
				seen[f.spec.Kind+" "+k] = append(seen[f.spec.Kind+" "+k], use{i, from, to, t.Name})
				wants = append(wants, want{k, t.Name})
			}
		}
	}
	for _, w := range wants {
		if err := e.j.Lease(w.key); err != nil {
			return toolErr(err)
		}
		h := lease.Holder{Key: w.key, Target: w.target, Run: e.j.Run(), Experiment: e.exp.Name, Started: e.rep.Started}
		if err := e.leases.Take(h); err != nil {
			var held *lease.HeldError
			if errors.As(err, &held) {
				return toolErr(fmt.Errorf("preflight: %w", err))
			}
			return toolErr(err)
		}
	}
	return nil
}

// closeOwnership ends the run's hold on its targets: leases released and
// the journal removed when nothing is pending; otherwise both stay for
// `chaos recover`, and the run says so.
func (e *engine) closeOwnership() {
	pending := 0
	if e.j != nil {
		pending = len(e.j.Pending())
	}
	if e.leases != nil {
		if err := e.leases.Finish(pending == 0); err != nil {
			e.progress("releasing leases: %v", err)
		}
	}
	if e.j != nil {
		if pending > 0 {
			var what []string
			for _, p := range e.j.Pending() {
				what = append(what, p.Fault+" on "+p.Target)
			}
			e.progress("%d change(s) still on (%s): journal %s kept; run `chaos recover --run %s`", pending, strings.Join(what, ", "), e.j.Path(), e.j.Run())
		}
		if err := e.j.Close(); err != nil {
			e.progress("closing journal: %v", err)
		}
	}
}
