// Package freezer is the cgroup freezer family: `freeze` hangs every process
// of a cgroup at once (a hung replica: its sockets stay open, the kernel
// still accepts connections, nothing answers). For a process of a
// Kubernetes pod the cgroup is the pod's, so every container of the pod
// hangs; elsewhere it is the process's own (a systemd unit's, a
// container's). It is what the node agent runs for `pause` on a pod; Docker
// containers have `pause` through the Docker API.
package freezer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Wait bounds how long the kernel may take to freeze or thaw a cgroup.
const Wait = 10 * time.Second

// Freeze freezes the cgroup of each target's process; rollback thaws it.
type Freeze struct {
	changes faults.Changes
	mu      sync.Mutex
	mech    string
}

var (
	_ faults.Fault       = (*Freeze)(nil)
	_ faults.Availabler  = (*Freeze)(nil)
	_ faults.Preflighter = (*Freeze)(nil)
	_ faults.Mechanismer = (*Freeze)(nil)
)

// Validate implements Fault: freeze has no parameters.
func (f *Freeze) Validate() []units.Problem { return nil }

// Available implements faults.Availabler: the cgroup freezer is Linux's.
func (f *Freeze) Available() error { return available() }

// Mechanism implements faults.Mechanismer.
func (f *Freeze) Mechanism() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mech
}

// Preflight implements faults.Preflighter: every target has a process in
// a cgroup that may be frozen.
func (f *Freeze) Preflight(_ context.Context, ts []targets.Target) error {
	for _, t := range ts {
		if _, err := locate(t); err != nil {
			return err
		}
	}
	return nil
}

func locate(t targets.Target) (Cgroup, error) {
	if t.Container != "" {
		return Cgroup{}, targets.Refusef("freeze: target %s is a Docker container (valid: kind pause for a container; freeze hangs a process's or a pod's cgroup)", t.Name)
	}
	if t.Pid <= 0 {
		return Cgroup{}, fmt.Errorf("freeze: target %s has no process, so no cgroup", t.Name)
	}
	c, err := Locate(t.Pid)
	if err != nil {
		return Cgroup{}, fmt.Errorf("freeze: target %s: %w", t.Name, err)
	}
	return c, nil
}

// thawRef is the journal data of a freeze: the cgroup (path and inode, so
// one made again under the same path is left alone) and the process it
// was found through.
type thawRef struct {
	Pid     int    `json:"pid"`
	Start   uint64 `json:"start_time"`
	Version int    `json:"cgroup_version"`
	Path    string `json:"cgroup"`
	Inode   uint64 `json:"inode"`
	Pod     string `json:"pod_uid,omitempty"`
}

// Inject implements Fault.
func (f *Freeze) Inject(ctx context.Context, env faults.Env) error {
	for _, t := range env.Targets {
		c, err := locate(t)
		if err != nil {
			return err
		}
		start, err := faults.StartTime(t.Pid)
		if err != nil {
			return fmt.Errorf("freeze: target %s (pid %d): %w", t.Name, t.Pid, err)
		}
		if frozen, err := c.State(); err != nil || frozen {
			if err == nil {
				err = fmt.Errorf("%s is already frozen, not by this run; refusing to freeze it (and so to thaw it at rollback)", c)
			}
			return fmt.Errorf("freeze: target %s: %w", t.Name, err)
		}
		what := "the process's cgroup"
		if c.Pod != "" {
			what = "the pod's cgroup (every container)"
		}
		f.mu.Lock()
		f.mech = fmt.Sprintf("cgroup v%d freezer on %s", c.Version, what)
		f.mu.Unlock()
		ref := thawRef{Pid: t.Pid, Start: start, Version: c.Version, Path: c.Path, Inode: c.Inode, Pod: c.Pod}
		ch := faults.Change{Target: t.Name, Key: faults.PidKey(t.Pid, start), Action: "cgroup-thaw", Data: ref,
			Undo: func(ctx context.Context) error { return thaw(ctx, ref) }, Owned: true}
		if err := f.changes.Apply(env, ch, func() error { return c.Set(ctx, true, Wait) }); err != nil {
			return fmt.Errorf("freeze: target %s: %w", t.Name, err)
		}
		fmt.Fprintf(env.Log, "  froze %s (%s)\n", t.Name, c)
	}
	return nil
}

// Rollback implements Fault.
func (f *Freeze) Rollback(ctx context.Context) error { return f.changes.Rollback(ctx) }

// Undoers are the offline undoers of the freezer's journal actions (for
// `chaos recover` and the node agent's start); the registry lists them.
var Undoers = map[string]faults.UndoFunc{"cgroup-thaw": undoThaw}

func undoThaw(ctx context.Context, e journal.Entry) error {
	ref, err := faults.Decode[thawRef](e)
	if err != nil {
		return err
	}
	if e.Key != faults.PidKey(ref.Pid, ref.Start) {
		return &faults.NotSameError{What: "cgroup " + ref.Path, Why: "the entry's lease key is " + e.Key}
	}
	return thaw(ctx, ref)
}

// thaw thaws the journaled cgroup if it is still the one frozen; one that
// is gone took its freeze with it.
func thaw(ctx context.Context, ref thawRef) error {
	c, ok, err := Reopen(ref.Version, ref.Path, ref.Inode)
	if err != nil || !ok {
		return err
	}
	return c.Set(ctx, false, Wait)
}
