package faults

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/chaos-sre/chaos/faults/journal"
)

// live holds the undo closures of changes made by this process, keyed by
// run and entry id. A change journaled by a process that has since died is
// undone by its offline undoer instead.
var live sync.Map

func liveKey(e journal.Entry) string { return e.Run + "#" + strconv.Itoa(e.ID) }

// UndoFunc undoes one journaled change from its entry alone, for a change
// whose maker is gone (`chaos recover`). The registry (faults/kinds) lists
// one per journal action.
type UndoFunc func(ctx context.Context, e journal.Entry) error

// Forget drops this process's live undo of e, so that Undo takes the
// offline path, as `chaos recover` does once the maker has died. For tests.
func Forget(e journal.Entry) { live.Delete(liveKey(e)) }

// GoneWithProcess undoes a change that lived inside the chaos process that
// made it (a proxy fault, a flood, a held connection): that process is gone,
// and so is the change.
func GoneWithProcess(context.Context, journal.Entry) error { return nil }

// Undoers are the offline undoers of the changes this package makes for
// every family: a change that lived in the chaos process, and a fault added
// to a `chaos proxy` through its control API. The registry lists them.
var Undoers = map[string]UndoFunc{
	"in-process": GoneWithProcess,
	"proxy-api":  ownProxyFault(undoProxyAPI),
}

// Undo reverts one journaled change: with the live closure when the change was
// made by this process, otherwise with offline[e.Action] from the entry's data.
func Undo(ctx context.Context, e journal.Entry, offline map[string]UndoFunc) error {
	if f, ok := live.LoadAndDelete(liveKey(e)); ok {
		return f.(func(context.Context) error)(ctx)
	}
	u, ok := offline[e.Action]
	if !ok {
		return fmt.Errorf("journal entry %d of run %s: unknown undo action %q", e.ID, e.Run, e.Action)
	}
	return u(ctx, e)
}

// Changes is held by fault kinds: it journals each change before it is
// made and its outcome after, and rolls back the ones that took effect,
// newest first.
type Changes struct {
	mu      sync.Mutex
	journal *journal.Journal
	entries []journal.Entry
}

// Change is one change a fault is about to make to a target.
type Change struct {
	Target string // the target's name, for reports
	// Key is the lease key of the target (see LeaseKeys); ContainerKey,
	// PidKey or NetnsKey of what it changes.
	Key    string
	Action string // the offline undoer (see UndoFunc)
	Data   any    // what the offline undoer needs, identity included
	Undo   func(context.Context) error
	// Owned says the change carries a name unique to this run (a table
	// chaos-RUN-N, a proxy fault id): undoing it when unsure whether it was
	// made cannot touch anything else, so a failed attempt is undone too.
	Owned bool
}

// Apply journals ch's intent (fsynced), makes the change with do, and
// journals the outcome. A change that failed is not undone at rollback
// (unless owned): what it would "undo" may be another's.
func (c *Changes) Apply(env Env, ch Change, do func() error) error {
	_, err := c.ApplyEntry(env, ch, do)
	return err
}

// ApplyEntry is Apply that also returns the journal entry's id (0 when
// nothing was journaled), for UndoEntry.
func (c *Changes) ApplyEntry(env Env, ch Change, do func() error) (int, error) {
	if env.Journal == nil {
		return 0, errors.New("no journal: refusing to make an unjournaled change")
	}
	e, err := env.Journal.Record(env.Fault, ch.Target, ch.Key, ch.Action, ch.Data)
	if err != nil {
		return 0, err
	}
	derr := do()
	if derr != nil && !ch.Owned {
		return e.ID, errors.Join(derr, env.Journal.Failed(e.ID, derr))
	}
	live.Store(liveKey(e), ch.Undo)
	c.mu.Lock()
	c.journal = env.Journal
	c.entries = append(c.entries, e)
	c.mu.Unlock()
	if derr != nil {
		return e.ID, derr
	}
	return e.ID, env.Journal.Done(e.ID)
}

// UndoEntry undoes one change before the rollback (a change a newer one
// replaced), marks it undone and forgets it; an id it does not hold (never
// applied, or undone already) is nothing to do.
func (c *Changes) UndoEntry(ctx context.Context, id int) error {
	c.mu.Lock()
	i := slices.IndexFunc(c.entries, func(e journal.Entry) bool { return e.ID == id })
	if i < 0 {
		c.mu.Unlock()
		return nil
	}
	e, j := c.entries[i], c.journal
	c.entries = slices.Delete(c.entries, i, i+1)
	c.mu.Unlock()
	undo, _ := live.Load(liveKey(e))
	if err := Undo(ctx, e, nil); err != nil && !IsNotSame(err) {
		if undo != nil {
			live.Store(liveKey(e), undo)
		}
		c.mu.Lock()
		c.entries = append(c.entries, e) // the rollback tries again
		c.mu.Unlock()
		return fmt.Errorf("undo %s on %s: %w", e.Action, e.Target, err)
	}
	return j.Undone(e.ID)
}

// Rollback undoes every change that took effect, newest first, and marks
// each undone. A target found replaced (NotSameError) is left alone: the
// change went with the old one. It keeps going past errors and returns
// them all.
func (c *Changes) Rollback(ctx context.Context) error {
	c.mu.Lock()
	entries := slices.Clone(c.entries)
	c.entries = nil
	j := c.journal
	c.mu.Unlock()
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if err := Undo(ctx, e, nil); err != nil && !IsNotSame(err) {
			errs = append(errs, fmt.Errorf("undo %s on %s: %w", e.Action, e.Target, err))
			continue
		}
		if err := j.Undone(e.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Decode reads the data of a journal entry for its offline undoer.
func Decode[T any](e journal.Entry) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("journal entry %d: bad data for %s: %w", e.ID, e.Action, err)
	}
	return v, nil
}
