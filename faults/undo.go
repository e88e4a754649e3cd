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

// offline undoers work from the journal entry alone (for `chaos recover`).
var offline = map[string]func(ctx context.Context, e journal.Entry) error{
	"signal":     undoSignal,
	"in-process": goneWithProcess,
	"proxy-api":  ownProxyFault(undoProxyAPI), // a fault in a `chaos proxy`, removed through its API
	// container faults (container*.go)
	"docker-unpause": undoUnpause,
	"docker-start":   undoStart,
	"docker-connect": undoConnect,
	"docker-update":  undoUpdate,
	"left-alone":     leftAlone,
	// network faults in a target's namespace (net_*.go)
	"nft-table": undoTable,
	"tc-qdisc":  undoQdisc,
}

// goneWithProcess undoes a change that lived inside the chaos process that
// made it (a proxy fault, a flood, a held connection): that process is gone,
// and so is the change.
func goneWithProcess(context.Context, journal.Entry) error { return nil }

// Undo reverts one journaled change: with the live closure when the change was
// made by this process, otherwise from the entry's data.
func Undo(ctx context.Context, e journal.Entry) error {
	if f, ok := live.LoadAndDelete(liveKey(e)); ok {
		return f.(func(context.Context) error)(ctx)
	}
	u, ok := offline[e.Action]
	if !ok {
		return fmt.Errorf("journal entry %d of run %s: unknown undo action %q", e.ID, e.Run, e.Action)
	}
	return u(ctx, e)
}

// changes is embedded by fault kinds: it journals each change before it is
// made and its outcome after, and rolls back the ones that took effect,
// newest first.
type changes struct {
	mu      sync.Mutex
	journal *journal.Journal
	entries []journal.Entry
}

// change is one change a fault is about to make to a target.
type change struct {
	target string // the target's name, for reports
	// key is the lease key of the target (see LeaseKeys); entryKey(t) for
	// a container or process, netnsKey for a namespace.
	key    string
	action string // the offline undoer (see offline)
	data   any    // what the offline undoer needs, identity included
	undo   func(context.Context) error
	// owned says the change carries a name unique to this run (a table
	// chaos-RUN-N, a proxy fault id): undoing it when unsure whether it was
	// made cannot touch anything else, so a failed attempt is undone too.
	owned bool
}

// apply journals ch's intent (fsynced), makes the change with do, and
// journals the outcome. A change that failed is not undone at rollback
// (unless owned): what it would "undo" may be another's.
func (c *changes) apply(env Env, ch change, do func() error) error {
	if env.Journal == nil {
		return errors.New("no journal: refusing to make an unjournaled change")
	}
	e, err := env.Journal.Record(env.Fault, ch.target, ch.key, ch.action, ch.data)
	if err != nil {
		return err
	}
	derr := do()
	if derr != nil && !ch.owned {
		return errors.Join(derr, env.Journal.Failed(e.ID, derr))
	}
	live.Store(liveKey(e), ch.undo)
	c.mu.Lock()
	c.journal = env.Journal
	c.entries = append(c.entries, e)
	c.mu.Unlock()
	if derr != nil {
		return derr
	}
	return env.Journal.Done(e.ID)
}

// rollback undoes every change that took effect, newest first, and marks
// each undone. A target found replaced (NotSameError) is left alone: the
// change went with the old one. It keeps going past errors and returns
// them all.
func (c *changes) rollback(ctx context.Context) error {
	c.mu.Lock()
	entries := slices.Clone(c.entries)
	c.entries = nil
	j := c.journal
	c.mu.Unlock()
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if err := Undo(ctx, e); err != nil && !IsNotSame(err) {
			errs = append(errs, fmt.Errorf("undo %s on %s: %w", e.Action, e.Target, err))
			continue
		}
		if err := j.Undone(e.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func decode[T any](e journal.Entry) (T, error) {
	var v T
	if err := json.Unmarshal(e.Data, &v); err != nil {
		return v, fmt.Errorf("journal entry %d: bad data for %s: %w", e.ID, e.Action, err)
	}
	return v, nil
}
