package connection

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Pacing of an exhaust fault's re-opens: at most count per second (so a
// server that drops everything sees its connections back within a second,
// not a flood), and while opens fail, a pause that doubles from
// backoffMin to backoffMax.
const (
	backoffMin  = 50 * time.Millisecond
	backoffMax  = 2 * time.Second
	dialTimeout = 2 * time.Second
)

// hold is the set of connections one exhaust fault keeps open on one
// address: a watcher per connection notices the server closing or
// resetting it, a keeper opens a new one in its place, and a sampler
// records each second what is held.
type hold struct {
	addr, mode string
	n          int
	every      time.Duration // slowloris: one more header line this often
	tick       time.Duration // sampling period, a second
	timeout    time.Duration // of one open
	log        io.Writer

	mu             sync.Mutex
	conns          map[net.Conn]bool
	stopping       bool
	refused, reset int // in the current second
	reopened       int // in all
	refusedAll     int
	resetAll       int
	series         []ExhaustPoint

	lost   chan struct{} // a held connection went away
	stop   chan struct{}
	ctx    context.Context // cancelled at close: stops a dial under way
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
}

func newHold(addr string, n int, mode string, every time.Duration, log io.Writer) *hold {
	ctx, cancel := context.WithCancel(context.Background())
	if log == nil {
		log = io.Discard
	}
	return &hold{addr: addr, n: n, mode: mode, every: every, tick: time.Second, timeout: dialTimeout, log: log,
		conns: map[net.Conn]bool{}, lost: make(chan struct{}, 1), stop: make(chan struct{}), ctx: ctx, cancel: cancel}
}

// fill opens the first n connections, giving up after two failed opens
// (the keeper opens the rest), and returns how many it holds.
func (h *hold) fill(ctx context.Context) (int, error) {
	var lastErr error
	for fails := 0; h.count() < h.n && fails < 2 && ctx.Err() == nil; {
		if err := h.open(ctx, false); err != nil {
			lastErr = err
			fails++
		}
	}
	return h.count(), lastErr
}

// start runs the keeper, the sampler and, for slowloris, the trickle.
func (h *hold) start() {
	h.wg.Add(2)
	go h.keep()
	go h.sample()
	if h.mode == "slowloris" {
		h.wg.Add(1)
		go h.trickle()
	}
}

func (h *hold) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// open dials one connection and holds it; a failed dial counts as refused.
func (h *hold) open(ctx context.Context, again bool) error {
	d := net.Dialer{Timeout: h.timeout}
	c, err := d.DialContext(ctx, "tcp", h.addr)
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.stopping:
		if c != nil {
			_ = c.Close()
		}
		return net.ErrClosed
	case err != nil:
		h.refused++
		h.refusedAll++
		return err
	}
	if h.mode == "slowloris" {
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", h.addr)
	}
	h.conns[c] = true
	if again {
		h.reopened++
	}
	h.wg.Add(1)
	go h.watch(c)
	return nil
}

// watch reads (and drops) whatever the server sends on c until it closes
// or resets it, then lets it go and tells the keeper.
func (h *hold) watch(c net.Conn) {
	defer h.wg.Done()
	buf := make([]byte, 128)
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	_ = c.Close()
	h.mu.Lock()
	delete(h.conns, c)
	byServer := !h.stopping
	if byServer {
		h.reset++
		h.resetAll++
	}
	h.mu.Unlock()
	if byServer {
		select {
		case h.lost <- struct{}{}:
		default:
		}
	}
}

// keep opens a connection for every one lost, at most n a second, backing
// off while opens fail.
func (h *hold) keep() {
	defer h.wg.Done()
	pace := time.Second / time.Duration(h.n)
	backoff := time.Duration(0)
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-h.stop:
			return false
		case <-t.C:
			return true
		}
	}
	for {
		if h.count() >= h.n {
			select {
			case <-h.stop:
				return
			case <-h.lost:
			}
			continue
		}
		if err := h.open(h.ctx, true); err != nil {
			backoff = min(max(2*backoff, backoffMin), backoffMax)
			if !wait(backoff) {
				return
			}
			continue
		}
		backoff = 0
		if !wait(pace) {
			return
		}
	}
}

// close stops keeping, records the last point, closes every connection and
// writes the summary line. It is idempotent.
func (h *hold) close(context.Context) error {
	h.once.Do(func() {
		h.mu.Lock()
		h.stopping = true
		h.point(time.Now())
		held := len(h.conns)
		for c := range h.conns {
			_ = c.Close()
		}
		h.mu.Unlock()
		close(h.stop)
		h.cancel()
		h.wg.Wait()
		h.mu.Lock()
		h.conns = map[net.Conn]bool{}
		fmt.Fprintf(h.log, "  exhaust %s: held %d/%d at the end; %d re-opened, %d refused, %d reset\n", h.addr, held, h.n, h.reopened, h.refusedAll, h.resetAll)
		h.mu.Unlock()
	})
	return nil
}
