package proxy

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Delays on the event loop. A delayed request (latency, jitter) or answer
// (ttfb, an injected error after a delay) is written as usual, but into
// its side's parked bytes with the side held: nothing is sent until the
// deadline, and everything that waits for parked bytes to drain (reading
// the peer, passing an end on, the next request) waits with it. A pair has
// at most one side held at a time, so its deadline lives in the pair and
// each loop keeps a min-heap of the pairs it holds: no timer, goroutine or
// allocation per delay. The loop sleeps in epoll_pwait2, whose timeout has
// nanoseconds, until the earliest deadline, on a thread whose timer slack
// it sets to 1 ns (the default 50 µs is 5 % of a 1 ms delay). What is left
// is the wake-up's own lateness (tens to over a hundred µs on a VM): the
// loop measures it on every wake-up by timeout and releases held bytes
// that much early (at most 1/8 of their delay), so that on average they
// leave at their deadline. With at most 1/16, 1 ms delays were delivered
// at p50 +11 % on our 2-core VM (proxybench, c1); with 1/8, +4 %.

// hold is a pair's deadline in its loop's heap.
type hold struct {
	at   int64 // loop clock (ns)
	lead int64 // how early it may be released: min(the loop's wake-up lateness, delay/8)
	i    int   // index in the heap + 1; 0: not held
	side *side
}

// epoch is the loop clock's zero; time.Since reads the monotonic clock.
var epoch = time.Now()

func now() int64 { return int64(time.Since(epoch)) }

// holdFor parks whatever is written to s from now on until d has passed.
func (l *evloop) holdFor(s *side, d time.Duration) {
	p := s.pair
	s.held = true
	p.hold.side = s
	p.hold.at = now() + int64(d)
	p.hold.lead = int64(d) / 8
	if p.hold.i == 0 {
		l.holds = append(l.holds, p)
		p.hold.i = len(l.holds)
		l.up(p.hold.i - 1)
		return
	}
	l.down(p.hold.i - 1)
	l.up(p.hold.i - 1)
}

// unhold drops p's deadline (the pair is closing or leaving the loop).
func (l *evloop) unhold(p *pair) {
	i := p.hold.i - 1
	if i < 0 {
		return
	}
	last := len(l.holds) - 1
	l.swap(i, last)
	l.holds[last] = nil
	l.holds = l.holds[:last]
	p.hold.i = 0
	p.hold.side.held = false
	if i < last {
		l.down(i)
		l.up(i)
	}
}

// expire sends what is held past its deadline and returns how long until
// the next deadline (-1: none).
func (l *evloop) expire() int64 {
	for len(l.holds) > 0 {
		p := l.holds[0]
		wait := p.hold.at - min(p.hold.lead, l.late) - now()
		if wait > 0 {
			return wait
		}
		s := p.hold.side
		l.unhold(p)
		if !p.closed.Load() {
			l.flush(s)
		}
	}
	return -1
}

func (l *evloop) less(i, j int) bool { return l.holds[i].hold.at < l.holds[j].hold.at }

func (l *evloop) swap(i, j int) {
	h := l.holds
	h[i], h[j] = h[j], h[i]
	h[i].hold.i, h[j].hold.i = i+1, j+1
}

func (l *evloop) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !l.less(i, parent) {
			return
		}
		l.swap(i, parent)
		i = parent
	}
}

func (l *evloop) down(i int) {
	for {
		c := 2*i + 1
		if c >= len(l.holds) {
			return
		}
		if c+1 < len(l.holds) && l.less(c+1, c) {
			c++
		}
		if !l.less(c, i) {
			return
		}
		l.swap(i, c)
		i = c
	}
}

// sleep waits for events until the next deadline (wait ns; -1: none) and
// learns from a wake-up by timeout how late such wake-ups come.
func (l *evloop) sleep(evs []unix.EpollEvent, wait int64) (int, error) {
	if wait < 0 {
		return epollWait(l.ep, evs, -1)
	}
	_, _, _ = unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_TIMERSLACK, 1, 0) // this thread's; Go may move the loop
	target := now() + wait
	n, err := epollWait(l.ep, evs, wait)
	if err == nil && n == 0 {
		late := min(max(now()-target, 0), int64(time.Millisecond))
		l.late += (late - l.late) / 8
	}
	return n, err
}

// epollWait blocks until events come or ns nanoseconds pass (ns < 0:
// until events come).
func epollWait(ep int, evs []unix.EpollEvent, ns int64) (int, error) {
	if ns < 0 {
		return unix.EpollWait(ep, evs, -1)
	}
	ts := unix.NsecToTimespec(ns)
	n, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(len(evs)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	if e == unix.ENOSYS { // before Linux 5.11: whole milliseconds, rounded up
		return unix.EpollWait(ep, evs, int((ns+999_999)/1_000_000))
	}
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
