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
	"proxy-api":  undoProxyAPI, // a fault in a `chaos proxy`, removed through its API
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
// made and rolls them all back, newest first.
type changes struct {
	mu      sync.Mutex
	journal *journal.Journal
	entries []journal.Entry
}

// record journals a change (fsynced) before the caller makes it. action names
// the offline undoer; undo is the in-process way back.
func (c *changes) record(env Env, targetName, action string, data any, undo func(context.Context) error) error {
	if env.Journal == nil {
		return errors.New("no journal: refusing to make an unjournaled change")
	}
	e, err := env.Journal.Record(env.Fault, targetName, action, data)
	if err != nil {
		return err
	}
	live.Store(liveKey(e), undo)
	c.mu.Lock()
	c.journal = env.Journal
	c.entries = append(c.entries, e)
	c.mu.Unlock()
	return nil
}

// rollback undoes every recorded change, newest first, and marks each
// undone. It keeps going past errors and returns them all.
func (c *changes) rollback(ctx context.Context) error {
	c.mu.Lock()
	entries := slices.Clone(c.entries)
	c.entries = nil
	j := c.journal
	c.mu.Unlock()
	var errs []error
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if err := Undo(ctx, e); err != nil {
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
