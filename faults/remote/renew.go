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
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// renewer keeps the leases of a fault's agent faults while it is on: every
// third of the lease it renews each one, at most kclient.Concurrency at
// once. A fault the agent no longer holds (404: its lease ran out, or the
// agent restarted and undid it) is reported and no longer renewed; any
// other failure is reported and tried again at the next tick. Rollback
// stops it before undoing.
type renewer struct {
	ticks kclient.Ticker
	mu    sync.Mutex
	held  map[string]*leased
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
	if w.held == nil {
		w.held = map[string]*leased{}
	}
	w.held[id] = &leased{agent: a, id: id, lease: lease}
	w.mu.Unlock()
	every := lease / 3
	w.ticks.Start(every, func(ctx context.Context) { w.renewAll(ctx, every, log) })
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
	w.held = nil
	w.mu.Unlock()
	w.ticks.Stop()
}

// renewAll renews every fault held now (each bounded by every: a renewal
// that takes longer than a tick is as good as lost), reporting to log.
func (w *renewer) renewAll(ctx context.Context, every time.Duration, log io.Writer) {
	w.mu.Lock()
	ls := make([]*leased, 0, len(w.held))
	for _, l := range w.held {
		ls = append(ls, l)
	}
	w.mu.Unlock()
	_ = kclient.Each(ctx, ls, func(ctx context.Context, l *leased) error {
		rctx, cancel := context.WithTimeout(ctx, every)
		defer cancel()
		err := l.agent.Call(rctx, http.MethodPost, agent.PathFaults+"/"+l.id+"/renew", agent.RenewRequest{LeaseMillis: l.lease.Milliseconds()}, nil)
		switch {
		case ctx.Err() != nil || err == nil:
		case podproxy.IsStatus(err, http.StatusNotFound):
			w.drop(l.id)
			fmt.Fprintf(log, "  warning: %s no longer holds fault %s (its lease ran out, or the agent restarted): the fault is off; no longer renewed\n", l.agent, l.id)
		default:
			fmt.Fprintf(log, "  warning: renew fault %s: %v; trying again in %s (the agent undoes it %s after the last renewal)\n", l.id, err, every, l.lease)
		}
		return nil
	})
}
