package kube

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// renewer keeps a fault's marks fresh while it is on: every RenewEvery it
// rewrites each mark's renewed time, in a JSON patch that tests the mark is
// still the one it wrote (a status update in between is no conflict). A
// mark found changed or gone (removed by hand, or by a recover that took
// the run for dead) is reported and no longer renewed. Rollback stops it
// before undoing.
type renewer struct {
	ticks kclient.Ticker
	mu    sync.Mutex
	held  []*held
}

// held is one mark of the fault: where, under which key, and the
// annotation's value as last written.
type held struct {
	cs    kubernetes.Interface
	ref   Ref
	key   string
	mark  Mark
	value string
}

// add starts renewing m on r (and the renewer itself, on the first mark).
func (w *renewer) add(cs kubernetes.Interface, r Ref, key string, m Mark, log io.Writer) {
	w.mu.Lock()
	w.held = append(w.held, &held{cs: cs, ref: r, key: key, mark: m, value: m.encode()})
	w.mu.Unlock()
	w.ticks.Start(RenewEvery, func(ctx context.Context) { w.renewAll(ctx, log) })
}

// stop ends the renewals and waits for one in flight.
func (w *renewer) stop() {
	w.mu.Lock()
	w.held = nil
	w.mu.Unlock()
	w.ticks.Stop()
}

// renewAll renews every mark held now, reporting to log.
func (w *renewer) renewAll(ctx context.Context, log io.Writer) {
	w.mu.Lock()
	hs := append([]*held(nil), w.held...)
	w.mu.Unlock()
	_ = kclient.Each(ctx, hs, func(ctx context.Context, h *held) error {
		gone, err := h.renew(ctx)
		switch {
		case ctx.Err() != nil:
		case gone:
			w.drop(h)
			fmt.Fprintf(log, "  warning: %v; no longer renewed\n", err)
		case err != nil:
			fmt.Fprintf(log, "  warning: %v; trying again in %s\n", err, RenewEvery)
		}
		return nil
	})
}

func (w *renewer) drop(h *held) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, x := range w.held {
		if x == h {
			w.held = append(w.held[:i], w.held[i+1:]...)
			return
		}
	}
}

// renew rewrites the mark's renewed time if the mark is still the one
// written last; gone says it is not (or the object is gone).
func (h *held) renew(ctx context.Context) (gone bool, err error) {
	m := h.mark
	m.Renewed = time.Now().UTC().Truncate(time.Second)
	value := m.encode()
	err = patch(ctx, h.cs, h.ref, types.JSONPatchType, encodePatch(
		testOp(pointer(h.key), jsonOf(h.value)),
		op{Op: "replace", Path: pointer(h.key), Value: value}))
	switch {
	case apierrors.IsNotFound(err):
		return true, fmt.Errorf("%s is gone", h.ref)
	case err != nil && retryable(err):
		return true, fmt.Errorf("the mark of this run on %s was changed or removed by someone else", h.ref)
	case err != nil:
		return false, fmt.Errorf("renew the mark on %s: %w", h.ref, err)
	}
	h.mark, h.value = m, value
	return false, nil
}
