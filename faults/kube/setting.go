package kube

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// setting is a field a fault sets while it is on and restores after: a
// workload's spec.replicas, a node's spec.unschedulable. The change and its
// mark go in one request, and so do the undo and the mark's removal: there
// is never a changed object without its mark, nor a mark left on a
// restored one.
type setting struct {
	kind  string // the fault kind; the mark's key is Prefix + kind
	field string // under spec: replicas, unschedulable
	read  func(object) json.RawMessage
}

func (s setting) key() string { return Prefix + s.kind }

var (
	replicasSetting = func(kind string) setting {
		return setting{kind: kind, field: "replicas", read: func(o object) json.RawMessage { return jsonOf(o.replicas) }}
	}
	unschedulableSetting = func(kind string) setting {
		return setting{kind: kind, field: "unschedulable", read: func(o object) json.RawMessage { return jsonOf(o.unschedulable) }}
	}
)

func jsonOf(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// set writes want into r's field with m as its mark, in one merge patch
// conditional on the resourceVersion it read: a write in between makes it
// read again and decide again (another run's mark refuses; the value
// already there is nothing to do). r.UID, once known, must not change.
// changed says whether this call made the change; the mark written is
// returned.
func (s setting) set(ctx context.Context, cs kubernetes.Interface, r Ref, m Mark, want json.RawMessage) (Mark, bool, error) {
	for try := 0; ; try++ {
		o, err := get(ctx, cs, r)
		if err != nil {
			return m, false, fmt.Errorf("read %s: %w", r, err)
		}
		if r.UID != "" && string(o.meta.UID) != r.UID {
			return m, false, &faults.NotSameError{What: r.String(), Why: fmt.Sprintf("its uid is %s, it was %s when the fault began", o.meta.UID, r.UID)}
		}
		if _, ours, err := free(r.String(), o.meta.Annotations, m.Run, m.Fault, s.key()); err != nil || ours {
			return m, false, err
		}
		cur := s.read(o)
		if string(cur) == string(want) {
			return m, false, nil
		}
		m.Old, m.Set = cur, want
		body, _ := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": o.meta.ResourceVersion, "annotations": map[string]string{s.key(): m.encode()}},
			"spec":     map[string]json.RawMessage{s.field: want},
		})
		err = patch(ctx, cs, r, types.MergePatchType, body)
		if err == nil {
			return m, true, nil
		}
		if !retryable(err) || try == maxTries {
			return m, false, fmt.Errorf("set %s of %s to %s: %w", s.field, r, want, err)
		}
	}
}

// ChangedError says an undo found the field no longer at the value its run
// set: someone else changed it during the window. Their value is kept; the
// run's mark is removed.
type ChangedError struct {
	Object, Field string
	Set, Now      json.RawMessage
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s of %s is %s, not the %s the run set: someone else changed it; left as it is", e.Field, e.Object, e.Now, e.Set)
}

// Unwrap makes a ChangedError a faults.NotSameError: rollback goes on, and
// recover reports it as skipped.
func (e *ChangedError) Unwrap() error {
	return &faults.NotSameError{What: e.Field + " of " + e.Object, Why: "someone else changed it to " + string(e.Now)}
}

// restore undoes the setting of fault of run on r: the old value back while
// the field still holds what the run set (a ChangedError when it does not),
// and the mark removed, in one JSON patch that tests both. An object gone,
// or carrying no mark of that fault, is nothing to undo.
func (s setting) restore(ctx context.Context, cs kubernetes.Interface, r Ref, run, fault string) error {
	for try := 0; ; try++ {
		o, err := get(ctx, cs, r)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", r, err)
		}
		if r.UID != "" && string(o.meta.UID) != r.UID {
			return &faults.NotSameError{What: r.String(), Why: fmt.Sprintf("its uid is %s, the change was made to %s", o.meta.UID, r.UID)}
		}
		value, ok := o.meta.Annotations[s.key()]
		var m Mark
		if !ok || json.Unmarshal([]byte(value), &m) != nil || !m.ours(run, fault) {
			return nil
		}
		ops := []op{testOp(pointer(s.key()), jsonOf(value))}
		cur := s.read(o)
		changed := string(cur) != string(m.Set)
		if !changed {
			path := "/spec/" + s.field
			ops = append(ops, testOp(path, m.Set), op{Op: "replace", Path: path, Value: m.Old})
		}
		ops = append(ops, op{Op: "remove", Path: pointer(s.key())})
		err = patch(ctx, cs, r, types.JSONPatchType, encodePatch(ops...))
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err == nil && changed:
			return &ChangedError{Object: r.String(), Field: s.field, Set: m.Set, Now: cur}
		case err == nil:
			return nil
		case !retryable(err) || try == maxTries:
			return fmt.Errorf("restore %s of %s to %s: %w", s.field, r, m.Old, err)
		}
	}
}

// settings is the part of a fault that sets a field on objects while it is
// on: each change journaled, marked, renewed and restored. Each object's
// changes are a faults.Changes of their own, so that rollback restores the
// objects side by side (kclient.Concurrency at once), as apply changed them.
type settings struct {
	mu      sync.Mutex
	changes []*faults.Changes
	renew   renewer
}

// track is a new set of changes that rollback undoes.
func (x *settings) track() *faults.Changes {
	x.mu.Lock()
	defer x.mu.Unlock()
	c := &faults.Changes{}
	x.changes = append(x.changes, c)
	return c
}

// apply sets s's field of every object to want, at most
// kclient.Concurrency at once. An object already at want (a node cordoned
// before the run) is left out: nothing is changed, nothing restored.
func (x *settings) apply(ctx context.Context, env faults.Env, s setting, action string, refs []Ref, want json.RawMessage) error {
	run := env.Journal.Run()
	return kclient.Each(ctx, refs, func(ctx context.Context, r Ref) error {
		cs, err := Client(r.Cluster)
		if err != nil {
			return err
		}
		o, err := get(ctx, cs, r)
		if err != nil {
			return fmt.Errorf("%s: read %s: %w", s.kind, r, err)
		}
		if _, ours, err := free(r.String(), o.meta.Annotations, run, env.Fault, s.key()); err != nil || ours {
			return err
		}
		if cur := s.read(o); string(cur) == string(want) {
			fmt.Fprintf(env.Log, "  %s already has %s %s: nothing to change, nor to restore\n", r, s.field, cur)
			return nil
		}
		r.UID = string(o.meta.UID)
		undo := func(ctx context.Context) error {
			err := s.restore(ctx, cs, r, run, env.Fault)
			var ch *ChangedError
			if errors.As(err, &ch) {
				fmt.Fprintf(env.Log, "  %v\n", err)
			}
			return err
		}
		var m Mark
		var changed bool
		// Owned: the undo acts only where the mark of this run's fault is,
		// so a write whose outcome is unknown (cancelled, timed out) is
		// undone at rollback too: if it took effect, its mark says so.
		ch := faults.Change{Target: r.String(), Key: r.LeaseKey(), Action: action, Data: r, Undo: undo, Owned: true}
		if err := x.track().Apply(env, ch, func() error {
			m, changed, err = s.set(ctx, cs, r, newMark(run, env.Fault, s.kind), want)
			return err
		}); err != nil {
			return fmt.Errorf("%s: %w", s.kind, err)
		}
		if changed {
			x.renew.add(cs, r, s.key(), m, env.Log)
			fmt.Fprintf(env.Log, "  %s: %s %s → %s\n", r, s.field, m.Old, m.Set)
		}
		return nil
	})
}

// rollback stops the renewals, then restores every object, side by side,
// each object's changes newest first.
func (x *settings) rollback(ctx context.Context) error {
	x.renew.stop()
	x.mu.Lock()
	cs := x.changes
	x.changes = nil
	x.mu.Unlock()
	return kclient.Each(ctx, cs, func(ctx context.Context, c *faults.Changes) error { return c.Rollback(ctx) })
}

// preflight reads every object and refuses one another run holds: before
// anything is injected, every mark is another run's.
func preflight(ctx context.Context, refs []Ref) error {
	return kclient.Each(ctx, refs, func(ctx context.Context, r Ref) error {
		cs, err := Client(r.Cluster)
		if err != nil {
			return err
		}
		o, err := get(ctx, cs, r)
		if err != nil {
			return fmt.Errorf("read %s: %w", r, err)
		}
		_, _, err = free(r.String(), o.meta.Annotations, "", "", "")
		return err
	})
}
