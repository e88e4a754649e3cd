package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/kinds"
)

// held is one fault the agent holds: what was asked, the fault, its lease.
// Its fields but op are guarded by Agent.mu.
type held struct {
	req   Request
	kind  string // the registry kind applied (pause is applied as freeze)
	fault faults.Fault
	proc  Proc
	// expires is when the lease runs out; last is the latest it may ever
	// be (For + Lease after it was applied; zero: no bound but the lease).
	expires, last time.Time
	// applied is false while the fault is being applied; taken is set
	// once it was taken out of Agent.held to be undone.
	applied, taken bool
	mechanism      string
	// gone says why the fault must go with its pod ("" while the pod is
	// there: its network namespace held by a process of it; for a freeze,
	// processes in its cgroup that nobody asks to stop).
	gone func() string

	// op is held while the fault is applied or undone: an undo waits for
	// an apply in flight to end.
	op chan struct{}
}

func newHeld(req Request, kind string, f faults.Fault, p Proc) *held {
	h := &held{req: req, kind: kind, fault: f, proc: p, op: make(chan struct{}, 1)}
	h.op <- struct{}{}
	return h
}

func (h *held) lock()   { <-h.op }
func (h *held) unlock() { h.op <- struct{}{} }

// extend sets the lease to run out lease from now, no later than h.last.
func (h *held) extend(now time.Time, lease time.Duration) {
	h.expires = now.Add(lease)
	if !h.last.IsZero() && h.expires.After(h.last) {
		h.expires = h.last
	}
}

// view is what GET and the answers say of h.
func (h *held) view(node string) Applied {
	p := h.req.Pod
	if p.ContainerID == "" {
		p.ContainerID = h.proc.ContainerID
	}
	return Applied{ID: h.req.ID, Run: h.req.Run, Kind: h.req.Kind, Pod: p, Node: node,
		Mechanism: h.mechanism, Expires: h.expires.UTC().Format(time.RFC3339Nano)}
}

// take removes fault id from what the agent holds, for an undo; nil when
// it holds none.
func (a *Agent) take(id string) *held {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.held[id]
	if h != nil {
		delete(a.held, id)
		h.taken = true
	}
	return h
}

// undo undoes a fault taken from the agent (after an apply in flight):
// its live rollback, then whatever the journal still holds for it (a
// change the rollback could not undo is tried offline once more). A fault
// that still holds a change afterwards goes back to the agent, for the
// reaper to try again, so that nothing is ever forgotten.
// why says what made the agent undo it, worked out once it is undone (a
// lease that ran out says how long ago).
func (a *Agent) undo(ctx context.Context, h *held, why func() string) error {
	h.lock()
	defer h.unlock()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), UndoTimeout)
	defer cancel()
	err := h.fault.Rollback(ctx)
	if rest := a.undoJournaled(ctx, h.req.ID); rest != nil {
		err = errors.Join(err, rest)
	} else {
		err = nil // the journal holds nothing more for it: all undone
	}
	if err != nil {
		a.mu.Lock()
		if _, again := a.held[h.req.ID]; !again {
			h.taken = false
			a.held[h.req.ID] = h
		}
		a.mu.Unlock()
		a.logf("could not undo %s %s on pod %s/%s (%s): %v; trying again", h.req.Kind, h.req.ID, h.req.Pod.Namespace, h.req.Pod.Name, why(), err)
		return fmt.Errorf("undo %s on pod %s/%s: %w", h.req.Kind, h.req.Pod.Namespace, h.req.Pod.Name, err)
	}
	a.logf("undid %s %s of run %s on pod %s/%s in %s: %s", h.req.Kind, h.req.ID, h.req.Run, h.req.Pod.Namespace, h.req.Pod.Name, ms(time.Since(start)), why())
	return nil
}

// because is a reason to undo that is known before.
func because(why string) func() string { return func() string { return why } }

// UndoTimeout bounds one undo (a freeze's thaw waits for the kernel).
const UndoTimeout = 30 * time.Second

// undoJournaled undoes, with the offline undoers, each change of fault id
// that the journal still holds, and says what could not be undone.
func (a *Agent) undoJournaled(ctx context.Context, id string) error {
	var errs []error
	for _, e := range a.j.Pending() {
		if e.Fault != id {
			continue
		}
		if err := kinds.Undo(ctx, e); err != nil && !faults.IsNotSame(err) {
			errs = append(errs, fmt.Errorf("%s: %w", e.Action, err))
			continue
		}
		if err := a.j.Undone(e.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
