package load

import "sync"

// dispatcher hands due requests to the most recently idle worker (LIFO, as
// net/http's idle pool does), so a run opens only as many connections as its
// concurrency needs, and the hot ones stay warm. When every worker is busy,
// requests wait in a bounded FIFO backlog: overload shows as send lag, never
// as more sockets.
type dispatcher struct {
	mu      sync.Mutex
	idle    []chan item // one channel (capacity 1) per idle worker
	backlog []item      // ring buffer
	head, n int
	closed  bool
}

func newDispatcher(workers, backlog int) *dispatcher {
	return &dispatcher{idle: make([]chan item, 0, workers), backlog: make([]item, backlog)}
}

// dispatch gives it to a worker or the backlog; false means the backlog is full.
func (d *dispatcher) dispatch(it item) bool {
	d.mu.Lock()
	if k := len(d.idle); k > 0 {
		ch := d.idle[k-1]
		d.idle = d.idle[:k-1]
		d.mu.Unlock()
		ch <- it // never blocks: capacity 1, and the worker is waiting for it
		return true
	}
	defer d.mu.Unlock()
	if d.n == len(d.backlog) {
		return false
	}
	d.backlog[(d.head+d.n)%len(d.backlog)] = it
	d.n++
	return true
}

// next returns the worker's next request: from the backlog, or by waiting idle
// on ch. ok is false once the dispatcher is closed.
func (d *dispatcher) next(ch chan item) (it item, ok bool) {
	d.mu.Lock()
	if d.n > 0 {
		it = d.backlog[d.head]
		d.head = (d.head + 1) % len(d.backlog)
		d.n--
		d.mu.Unlock()
		return it, true
	}
	if d.closed {
		d.mu.Unlock()
		return it, false
	}
	d.idle = append(d.idle, ch)
	d.mu.Unlock()
	it, ok = <-ch
	return it, ok
}

// close stops the workers: idle ones are released, busy ones stop after
// their request. It returns the backlog, never to be sent.
func (d *dispatcher) close() []item {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, ch := range d.idle {
		close(ch)
	}
	d.idle = nil
	left := make([]item, 0, d.n)
	for ; d.n > 0; d.n-- {
		left = append(left, d.backlog[d.head])
		d.head = (d.head + 1) % len(d.backlog)
	}
	return left
}
