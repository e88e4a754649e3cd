// Package process is the process family: a signal to a local process (a
// hung or crashed node of a stack run as processes), undone with CONT or a
// restart.
package process

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/internal/osproc"
	"github.com/chaos-sre/chaos/internal/units"
)

// Process sends a signal to the target processes: STOP makes a hung node (the
// process stays, nothing answers), KILL/TERM/INT a crashed one. Rollback sends
// CONT after STOP, and starts killed processes again when Restart is set and
// the target knows how.
type Process struct {
	Signal  string `yaml:"signal,omitempty" json:"signal,omitempty" jsonschema:"enum=STOP,enum=KILL,enum=TERM,enum=INT,enum=CONT,default=STOP"`
	Restart bool   `yaml:"restart,omitempty" json:"restart,omitempty" jsonschema:"description=after KILL/TERM/INT rollback starts the process again (local stack); false leaves it to a supervisor,default=true"`

	changes faults.Changes
}

var _ faults.Fault = (*Process)(nil)

var _ faults.Availabler = (*Process)(nil)

// signals are the signals a process fault sends, by name (see osproc.Signal).
var signals = []string{"STOP", "CONT", "KILL", "TERM", "INT"}

// Available implements faults.Availabler: a pid is guarded by its start
// time in /proc, which only Linux has.
func (p *Process) Available() error { return osproc.Available() }

// Validate implements Fault.
func (p *Process) Validate() []units.Problem {
	if !slices.Contains(signals, strings.ToUpper(p.Signal)) {
		return []units.Problem{units.Problemf("signal", "unknown signal %q (valid: STOP, CONT, KILL, TERM, INT)", p.Signal)}
	}
	return nil
}

type signalUndo struct {
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"start_time"` // guards against pid reuse
	Signal    string `json:"signal"`
}

// Inject implements Fault.
func (p *Process) Inject(ctx context.Context, env faults.Env) error {
	sig := strings.ToUpper(p.Signal)
	for _, t := range env.Targets {
		if t.Pid <= 0 {
			return fmt.Errorf("process fault: target %s has no process", t.Name)
		}
		start, err := faults.StartTime(t.Pid)
		if err != nil {
			return fmt.Errorf("process fault: target %s (pid %d): %w", t.Name, t.Pid, err)
		}
		if sig == "STOP" && procState(t.Pid) == "T" {
			return fmt.Errorf("process fault: %s (pid %d) is already stopped, not by this run; refusing to stop it (and so to continue it at rollback)", t.Name, t.Pid)
		}
		ch := faults.Change{Target: t.Name, Key: faults.PidKey(t.Pid, start), Action: "in-process"}
		switch {
		case sig == "STOP":
			u := signalUndo{Pid: t.Pid, StartTime: start, Signal: "CONT"}
			ch.Action, ch.Data, ch.Undo = "signal", u, func(ctx context.Context) error { return sendIfSame(u) }
		case sig != "CONT" && p.Restart && t.Restart != nil:
			ch.Data, ch.Undo = map[string]any{"restart": t.Name}, t.Restart
		default:
			// CONT, or a kill left to a supervisor: nothing to undo, but the
			// change is still journaled so the report and recover show it.
			ch.Data, ch.Undo = map[string]any{"signal": sig, "pid": t.Pid}, func(context.Context) error { return nil }
		}
		if err := p.changes.Apply(env, ch, func() error {
			if err := osproc.Signal(t.Pid, sig); err != nil {
				return fmt.Errorf("process fault: send SIG%s to %s (pid %d): %w", sig, t.Name, t.Pid, err)
			}
			if sig == "STOP" && !stopped(t.Pid, time.Second) {
				return fmt.Errorf("process fault: %s (pid %d) did not stop within 1s of SIGSTOP", t.Name, t.Pid)
			}
			return nil
		}); err != nil {
			return err
		}
		fmt.Fprintf(env.Log, "  sent SIG%s to %s (pid %d)\n", sig, t.Name, t.Pid)
	}
	return nil
}

// Rollback implements Fault.
func (p *Process) Rollback(ctx context.Context) error { return p.changes.Rollback(ctx) }

// Undoers are the offline undoers of the process fault's journal actions
// (for `chaos recover`); the registry lists them.
var Undoers = map[string]faults.UndoFunc{"signal": UndoSignal}

// UndoSignal is the offline undoer of a STOP: it sends CONT to the same
// process (pid and start time), if it is still there.
func UndoSignal(_ context.Context, e journal.Entry) error {
	u, err := faults.Decode[signalUndo](e)
	if err != nil {
		return err
	}
	if u.Signal != "CONT" {
		return &faults.NotSameError{What: fmt.Sprintf("pid %d", u.Pid), Why: fmt.Sprintf("an undo only ever sends SIGCONT, the journal asks for SIG%s", u.Signal)}
	}
	if e.Key != faults.PidKey(u.Pid, u.StartTime) {
		return &faults.NotSameError{What: fmt.Sprintf("pid %d", u.Pid), Why: "the entry's lease key is " + e.Key}
	}
	return sendIfSame(u)
}
