package agent

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kinds"
)

// undoLeftovers undoes what the journals of earlier agents in dir still
// hold (an agent killed, evicted, or whose node rebooted), newest first,
// with the offline undoers: a network namespace found again by its inode,
// a cgroup by its path and inode; one that is gone took its change with
// it. A journal another live agent holds is left alone. It reports
// whether nothing is left.
func (a *Agent) undoLeftovers(ctx context.Context, dir string) bool {
	left, err := journal.Scan(dir)
	if err != nil {
		a.logf("%v", err)
		return false
	}
	clean := true
	for _, l := range left {
		if l.Live {
			a.logf("journal %s is held by a live agent (%s); left to it", l.Path, l.Meta)
			continue
		}
		// one unreadable or not trusted is refused by Claim, never acted on
		clean = a.undoJournal(ctx, l.Path) && clean
	}
	return clean
}

// undoJournal claims one dead agent's journal and undoes what it holds.
func (a *Agent) undoJournal(ctx context.Context, path string) bool {
	c, err := journal.Claim(path)
	if errors.Is(err, journal.ErrLive) {
		return true
	}
	if err != nil {
		a.logf("%v", err)
		return false
	}
	start := time.Now()
	n, failed := 0, 0
	for _, e := range slices.Clone(c.Pending) {
		uctx, cancel := context.WithTimeout(ctx, UndoTimeout)
		err := kinds.Undo(uctx, e)
		cancel()
		note := ""
		switch {
		case faults.IsNotSame(err):
			note = err.Error()
			a.logf("left %s (fault %s on %s) of %s alone: %s", e.Action, e.Fault, e.Target, c.Run, note)
		case err != nil:
			failed++
			a.logf("could not undo %s (fault %s on %s) of %s: %v; its journal %s stays", e.Action, e.Fault, e.Target, c.Run, err, path)
			continue
		default:
			n++
		}
		if err := c.Resolve(e.ID, note); err != nil {
			failed++
			a.logf("%v", err)
		}
	}
	if err := c.Close(); err != nil {
		a.logf("%v", err)
	}
	if n+failed > 0 || len(c.Pending) > 0 {
		a.logf("undid %d change(s) that %s left (journal %s) in %s at start; %d could not be undone", n, c.Run, path, ms(time.Since(start)), failed)
	}
	return failed == 0
}
