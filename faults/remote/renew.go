package remote

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
)

// renewer keeps the leases of a fault's agent faults while it is on: every
// third of the lease it renews each one, at most kclient.Concurrency at
// once. A fault the agent no longer holds (404: its lease ran out, or the
// agent restarted and undid it) is reported and no longer renewed; any
// other failure is reported and tried again at the next tick. Rollback
// stops it before undoing.
type renewer struct {
	mu     sync.Mutex
	held   map[string]*leased
	every  time.Duration
	log    io.Writer
	cancel context.CancelFunc
	done   chan struct{}
}

// leased is one fault an agent holds for the run.
type leased struct {
	agent *podproxy.Agent
	id    string
	lease time.Duration
}

// add starts renewing fault id of a (and the renewer itself, on the first).
func (w *renewer) add(a *podproxy.Agent, id string, lease time.Duration, log io.Writer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.held == nil {
		w.held = map[string]*leased{}
	}
	w.held[id] = &leased{agent: a, id: id, lease: lease}
	if w.done != nil {
		return
	}
	w.log, w.every = log, lease/3
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel, w.done = cancel, make(chan struct{})
	go w.loop(ctx, w.done)
}

// drop stops renewing fault id.
func (w *renewer) drop(id string) {
	w.mu.Lock()
	delete(w.held, id)
	w.mu.Unlock()
}

// stop ends the renewals and waits for those in flight.
func (w *renewer) stop() {
	w.mu.Lock()
	cancel, done := w.cancel, w.done
	w.cancel, w.done, w.held = nil, nil, nil
	w.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (w *renewer) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.mu.Lock()
		ls := make([]*leased, 0, len(w.held))
		for _, l := range w.held {
			ls = append(ls, l)
		}
		w.mu.Unlock()
		_ = each(ctx, ls, func(ctx context.Context, l *leased) error {
			// a renewal that takes longer than a tick is as good as lost
			rctx, cancel := context.WithTimeout(ctx, w.every)
			defer cancel()
			err := l.agent.Call(rctx, http.MethodPost, agent.PathFaults+"/"+l.id+"/renew", agent.RenewRequest{LeaseMillis: l.lease.Milliseconds()}, nil)
			switch {
			case ctx.Err() != nil || err == nil:
			case podproxy.IsStatus(err, http.StatusNotFound):
				w.drop(l.id)
				fmt.Fprintf(w.log, "  warning: %s no longer holds fault %s (its lease ran out, or the agent restarted): the fault is off; no longer renewed\n", l.agent, l.id)
			default:
				fmt.Fprintf(w.log, "  warning: renew fault %s: %v; trying again in %s (the agent undoes it %s after the last renewal)\n", l.id, err, w.every, l.lease)
			}
			return nil
		})
	}
}
