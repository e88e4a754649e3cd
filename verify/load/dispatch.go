package load

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// dispatcher owns the schedule and hands due requests to workers. It is work
// conserving: a worker that finishes takes the next due request itself, so at
// high rates requests leave on time without a wake-up of the pacer goroutine
// (Go timers can fire up to a millisecond late here). The pacer goroutine
// covers the quiet moments, giving due requests to the most recently idle
// worker (LIFO, as net/http's idle pool does), so a run opens only the
// connections its concurrency needs. When every worker is busy, due requests
// wait in a bounded FIFO backlog: overload shows as send lag, never as more
// sockets.
type dispatcher struct {
	g  *Generator
	mu sync.Mutex
	p  *pacer
	// rng draws classes in schedule order, so a seed repeats the same mix.
	rng     *rand.Rand
	idle    []chan item // one channel (capacity 1) per idle worker
	backlog []item      // ring buffer
	head, n int
	closed  bool
}

func newDispatcher(g *Generator, backlog int) *dispatcher {
	return &dispatcher{g: g, p: newPacer(g.cfg.Stages), rng: g.classRand(),
		idle: make([]chan item, 0, g.cfg.Connections), backlog: make([]item, backlog)}
}

// earlyBy is how far ahead of its time a request may be handed out. Go
// timers here fire on a coarse (about 1 ms) tick, so a pacer that waits for
// the exact time is late by up to a tick, uniformly. Waking half a tick early
// and handing out what falls due within it centres that error on zero: a
// request sent early is measured from its actual send (an arrival moved by
// under half a millisecond), one sent late from its intended time, so no
// lateness is hidden and the schedule's rate is unchanged.
const earlyBy = 500 * time.Microsecond

// dueLocked takes the next request of the schedule if it is due by now
// (within earlyBy).
func (d *dispatcher) dueLocked(now time.Duration) (item, bool) {
	g := d.g
	g.rateMu.Lock()
	if g.havePending {
		d.p.setRate(now, g.pending)
		g.havePending = false
	}
	g.rateMu.Unlock()
	at, ok := d.p.next()
	if !ok || at > now+earlyBy || at >= g.cfg.MaxDuration {
		return item{}, false
	}
	d.p.advance()
	it := item{at: at, class: g.pickClass(d.rng)}
	g.tl.recordDue(it.at, int(it.class))
	return it, true
}

// handLocked gives it to an idle worker or the backlog; false means both are
// out (every worker busy and the backlog full).
func (d *dispatcher) handLocked(it item) bool {
	if k := len(d.idle); k > 0 {
		ch := d.idle[k-1]
		d.idle = d.idle[:k-1]
		ch <- it // never blocks: capacity 1, and its worker waits for it
		return true
	}
	if d.n == len(d.backlog) {
		return false
	}
	it.queued = d.g.since()
	d.backlog[(d.head+d.n)%len(d.backlog)] = it
	d.n++
	return true
}

// next returns a worker's next request: the oldest backlogged one, one that
// is due, or the one the pacer hands over while the worker waits idle on ch.
// ok is false once the dispatcher is closed.
func (d *dispatcher) next(ch chan item) (it item, ok bool) {
	d.mu.Lock()
	if d.n > 0 {
		it = d.backlog[d.head]
		d.head = (d.head + 1) % len(d.backlog)
		d.n--
		d.mu.Unlock()
		it.waited = d.g.since() - it.queued
		return it, true
	}
	if d.closed {
		d.mu.Unlock()
		return it, false
	}
	if it, ok = d.dueLocked(d.g.since()); ok {
		d.mu.Unlock()
		return it, true
	}
	d.idle = append(d.idle, ch)
	d.mu.Unlock()
	it, ok = <-ch
	return it, ok
}

// pace is the pacer goroutine: it hands out everything due, then sleeps until
// the next request is due, the rate changes or ctx is done. parent tells a
// cancel (parent done) from the MaxDuration stop.
func (d *dispatcher) pace(ctx, parent context.Context) {
	g := d.g
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		d.mu.Lock()
		now := g.since()
		for n := 0; n < 4096; n++ {
			it, ok := d.dueLocked(now)
			if !ok {
				break
			}
			if !d.handLocked(it) {
				g.unsend(it)
			}
		}
		at, ok := d.p.next()
		ok = ok && at < g.cfg.MaxDuration
		d.mu.Unlock()
		var wake <-chan time.Time
		if ok {
			if at <= g.since()+earlyBy {
				continue
			}
			timer.Reset(at - earlyBy - g.since())
			wake = timer.C
		}
		select {
		case <-ctx.Done():
		case <-g.rateCh:
		case <-wake:
		}
	}
	d.stop(parent.Err() == nil)
}

// stop closes the dispatcher. Requests that fell due before the stop but
// were not handed out (a starved CPU woke the pacer late) still go to idle
// workers at the MaxDuration stop, late (it shows as send lag); after a
// cancel they are unsent, as is the backlog.
func (d *dispatcher) stop(atDeadline bool) {
	g := d.g
	d.mu.Lock()
	defer d.mu.Unlock()
	end := min(g.since(), g.cfg.MaxDuration)
	if atDeadline {
		end = g.cfg.MaxDuration
	}
	for n := 0; n < 1<<20; n++ {
		it, ok := d.dueLocked(end)
		if !ok || it.at >= end {
			if ok {
				g.unsend(it) // due exactly at the stop
			}
			break
		}
		if k := len(d.idle); !atDeadline || k == 0 {
			g.unsend(it)
		} else {
			d.handLocked(it)
		}
	}
	d.closed = true
	for _, ch := range d.idle {
		close(ch)
	}
	d.idle = nil
	for ; d.n > 0; d.n-- {
		g.unsend(d.backlog[d.head])
		d.head = (d.head + 1) % len(d.backlog)
	}
}
