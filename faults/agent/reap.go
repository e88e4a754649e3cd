package agent

import (
	"context"
	"fmt"
	"time"
)

// leftoverEvery is how often the reaper tries again a change an earlier
// agent left that could not be undone at start.
const leftoverEvery = 10 * time.Second

// reap undoes each fault whose lease ran out, at once (a timer on the
// next expiry, not a tick), and every Watch checks that the pods of the
// others are still there: a fault on a pod that went is dropped and undone
// (its network namespace may live on in the agent's own handles).
func (a *Agent) reap() {
	defer a.loops.Done()
	timer := time.NewTimer(a.o.Watch)
	defer timer.Stop()
	lastWatch, lastLeftover := time.Now(), time.Now()
	for {
		select {
		case <-a.stop:
			return
		case <-timer.C:
		case <-a.wake:
		}
		now := time.Now()
		next := now.Add(a.o.Watch)
		var expired, live []*held
		a.mu.Lock()
		for id, h := range a.held {
			switch {
			case !h.applied:
			case !now.Before(h.expires):
				delete(a.held, id)
				h.taken = true
				expired = append(expired, h)
			default:
				live = append(live, h)
				if h.expires.Before(next) {
					next = h.expires
				}
			}
		}
		a.mu.Unlock()
		for _, h := range expired {
			a.background(h, func() string {
				return fmt.Sprintf("its lease ran out at %s (run %s did not renew it; undone %s after)", h.expires.UTC().Format(time.RFC3339Nano), h.req.Run, ms(time.Since(h.expires)))
			})
		}
		if now.Sub(lastWatch) >= a.o.Watch {
			lastWatch = now
			for _, h := range live {
				if why := h.gone(); why != "" && a.takeIf(h) {
					a.background(h, because(why))
				}
			}
		}
		if a.leftovers && now.Sub(lastLeftover) >= leftoverEvery {
			lastLeftover = now
			a.leftovers = !a.undoLeftovers(context.Background(), JournalDir(a.o.StateDir))
		}
		timer.Reset(max(time.Until(next), time.Millisecond))
	}
}

// background undoes h in a goroutine of its own: one slow thaw does not
// hold up the others.
func (a *Agent) background(h *held, why func() string) {
	a.undoing.Add(1)
	go func() {
		defer a.undoing.Done()
		_ = a.undo(context.Background(), h, why)
	}()
}

// takeIf takes h from what the agent holds if it is still there.
func (a *Agent) takeIf(h *held) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.held[h.req.ID] != h {
		return false
	}
	delete(a.held, h.req.ID)
	h.taken = true
	return true
}
