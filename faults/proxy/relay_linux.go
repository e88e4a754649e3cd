package proxy

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fast path of both route modes while no fault is installed. A
// connection with nothing to do but move bytes leaves Go's netpoller: its
// two sockets go to one of a few event loops (one per GOMAXPROCS), each an
// edge-triggered epoll set over raw non-blocking descriptors that only that
// loop touches. A loop reads a socket when epoll says bytes came and writes
// them straight to the other, so a request and its answer cost the four
// reads and writes they must, with no failed read, no goroutine wake-up and
// no epoll_ctl in between; a short read means the socket is drained, and
// new bytes bring a new edge. A slow reader parks what it did not take and
// pauses the other side until it drains (backpressure). tcp routes decide
// faults per connection at accept, so a relayed connection runs on as it is
// when a fault is added later; http routes follow message boundaries and
// hand the connection to the fault chain at a request's first byte
// (httploop_linux.go).

// relay is the process's set of event loops, started on first use.
var relay = sync.OnceValues(startLoops)

type evloop struct {
	ep    int
	wake  int // eventfd: new pairs are waiting in incoming
	buf   []byte
	sides []*side // by descriptor; the loop's own
	holds []*pair // a min-heap by deadline (hold_linux.go)
	late  int64   // how late a wake-up by timeout comes, on average (ns)

	mu       sync.Mutex
	incoming []*pair
	returned []returned // pairs lent to the fault chain, back (lend_linux.go)
}

// side is one socket of a relayed pair.
type side struct {
	fd       int
	peer     *side
	pair     *pair
	pending  []byte // bytes read from peer not yet written to fd
	held     bool   // pending waits for a deadline (hold_linux.go)
	readable bool   // epoll said bytes came, and they are not all read
	hup      bool   // the other end closed or failed: read to the end
	eof      bool   // fd has no more to read
	shut     bool   // fd's write side is shut down
}

// pair is a relayed connection.
type pair struct {
	a, b    side        // http: a is the client, b the upstream
	flow    *flow       // http routes: where each message ends
	hold    hold        // the deadline of a held side
	mu      sync.Mutex  // Close against the loop closing the descriptors
	closed  atomic.Bool // set, under mu, by the loop only
	onClose func()
}

// Close ends the connection from outside the loop: shutting both sockets
// down (their descriptors stay valid until the loop closes them) makes the
// loop see the end and let go of them.
func (p *pair) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed.Load() {
		_ = unix.Shutdown(p.a.fd, unix.SHUT_RDWR)
		_ = unix.Shutdown(p.b.fd, unix.SHUT_RDWR)
	}
	return nil
}

func startLoops() ([]*evloop, error) {
	n := max(1, runtime.GOMAXPROCS(0))
	loops := make([]*evloop, 0, n)
	for range n {
		l, err := newLoop()
		if err != nil {
			return nil, err // the loops started stay idle: this happens at most once
		}
		loops = append(loops, l)
		go l.run()
	}
	return loops, nil
}

func newLoop() (*evloop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err == nil {
		err = unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)})
	}
	if err != nil {
		_ = unix.Close(ep)
		return nil, err
	}
	return &evloop{ep: ep, wake: wake, buf: make([]byte, 64<<10)}, nil
}

var nextLoop atomic.Uint32

// hasLoops: Linux has the event loops (relay_other.go: no other OS has).
const hasLoops = true

// relayTCP relays a tcp route's connection that has no fault.
func (rt *Route) relayTCP(client, up net.Conn, onClose func()) error {
	return rt.relay(client, up, nil, onClose)
}

// relayHTTP relays an http route's connection request by request; give
// hands it to the net/http server when the loop cannot serve a request.
func (rt *Route) relayHTTP(client, up net.Conn, give func(net.Conn)) error {
	return rt.relay(client, up, &flow{rt: rt, handoff: give}, nil)
}

// relay hands two connected TCP sockets of rt to an event loop. The pair
// is among rt's connections (Close ends it) before any byte moves, and
// leaves them once both sockets are closed (or the client is handed off),
// when onClose (may be nil) runs too. On success the net.Conns are closed
// (the loop holds duplicates of their descriptors); on error nothing
// changed.
func (rt *Route) relay(a, b net.Conn, fl *flow, onClose func()) error {
	loops, err := relay()
	if err != nil {
		return err
	}
	fa, err := dupFD(a)
	if err != nil {
		return err
	}
	fb, err := dupFD(b)
	if err != nil {
		_ = unix.Close(fa)
		return err
	}
	p := &pair{flow: fl}
	p.a = side{fd: fa, peer: &p.b, pair: p}
	p.b = side{fd: fb, peer: &p.a, pair: p}
	p.onClose = func() {
		rt.conns.Delete(p)
		if onClose != nil {
			onClose()
		}
	}
	rt.conns.Store(p, struct{}{})
	_ = a.Close()
	_ = b.Close()
	l := loops[nextLoop.Add(1)%uint32(len(loops))]
	l.mu.Lock()
	l.incoming = append(l.incoming, p)
	l.mu.Unlock()
	one := [8]byte{1}
	_, _ = unix.Write(l.wake, one[:])
	return nil
}

// dupFD duplicates c's descriptor (close-on-exec, still non-blocking: the
// flag belongs to the shared open file).
func dupFD(c net.Conn) (int, error) {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return -1, errors.New("not a TCP connection")
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var derr error
	if err := rc.Control(func(x uintptr) { fd, derr = unix.FcntlInt(x, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return fd, derr
}

func (l *evloop) run() {
	evs := make([]unix.EpollEvent, 256)
	for {
		// Under load the next events are often there already: look without
		// the blocking-syscall bookkeeping first, and block only when idle.
		wait := l.expire()
		n, err := epollPeek(l.ep, evs)
		if err == nil && n == 0 {
			n, err = l.sleep(evs, wait)
		}
		if err != nil {
			continue // EINTR
		}
		for i := range evs[:n] {
			if int(evs[i].Fd) == l.wake {
				l.admit()
				continue
			}
			s := l.side(int(evs[i].Fd))
			if s == nil || s.pair.closed.Load() {
				continue
			}
			ev := evs[i].Events
			if ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0 && s.pair.hold.i > 0 {
				l.close(s.pair, true) // gone while held: nothing left to wait for
				continue
			}
			if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				s.readable = true
				s.hup = s.hup || ev&(unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0
			}
			if ev&unix.EPOLLOUT != 0 && len(s.pending) > 0 {
				l.flush(s)
			}
			l.pump(s)
		}
	}
}

// admit registers the pairs relay queued.
func (l *evloop) admit() {
	var b [8]byte
	_, _ = unix.Read(l.wake, b[:])
	l.mu.Lock()
	in, back := l.incoming, l.returned
	l.incoming, l.returned = nil, nil
	l.mu.Unlock()
	for _, r := range back {
		l.welcomeBack(r)
	}
	for _, p := range in {
		for _, s := range []*side{&p.a, &p.b} {
			if s.fd >= len(l.sides) {
				l.sides = append(l.sides, make([]*side, s.fd+1-len(l.sides))...)
			}
			l.sides[s.fd] = s
		}
		for _, s := range []*side{&p.a, &p.b} {
			ev := &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(s.fd)}
			if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, s.fd, ev); err != nil {
				l.close(p, true)
				break
			}
		}
	}
}

// pump reads s while it has bytes and they may go on: its peer has
// nothing parked, and (http) the flow is at a point where s is read, or
// the other end is done sending (its end must be seen, and passed on).
func (l *evloop) pump(s *side) {
	p := s.pair
	for s.readable && !s.eof && !p.closed.Load() && len(s.peer.pending) == 0 && (s.hup || l.reads(s)) {
		n, err := rawIO(unix.SYS_READ, s.fd, l.buf)
		switch {
		case n > 0:
			if n < len(l.buf) && !s.hup {
				s.readable = false // drained: the next bytes bring a new edge
			}
			if p.flow != nil {
				l.flowRead(s, l.buf[:n])
			} else {
				l.write(s.peer, l.buf[:n])
			}
		case n == 0 && err == nil:
			s.readable, s.eof = false, true
			l.maybeShut(s.peer)
		case err == unix.EAGAIN:
			s.readable = false
		case err == unix.EINTR:
		default:
			l.close(p, true)
		}
	}
}

// write sends b to s, parking what s does not take; epoll says when it
// takes more (EPOLLOUT).
func (l *evloop) write(s *side, b []byte) {
	if len(s.pending) > 0 || s.held {
		s.pending = append(s.pending, b...)
		return
	}
	for len(b) > 0 {
		n, err := rawIO(unix.SYS_WRITE, s.fd, b)
		if n > 0 {
			b = b[n:]
			continue
		}
		switch err {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			s.pending = append(s.pending[:0], b...)
			return
		}
		l.close(s.pair, true)
		return
	}
}

// flush writes s's parked bytes now that s takes them; once all are gone
// the peer is read again.
func (l *evloop) flush(s *side) {
	if s.held {
		return
	}
	b := s.pending
	s.pending = nil
	l.write(s, b)
	if s.pair.closed.Load() || len(s.pending) > 0 {
		return
	}
	s.pending = b[:0]
	l.maybeShut(s)
	if s.pair.flow != nil && !s.pair.closed.Load() {
		l.flowFlushed(s.pair)
	}
	l.pump(s.peer)
}

// maybeShut passes the peer's end on to s once s has written everything,
// and closes the pair when both ends are done.
func (l *evloop) maybeShut(s *side) {
	if !s.peer.eof || len(s.pending) > 0 || s.shut {
		return
	}
	s.shut = true
	_ = unix.Shutdown(s.fd, unix.SHUT_WR)
	if s.peer.shut {
		l.close(s.pair, false)
	}
}

// forget drops the pair's sockets from the loop's table.
func (l *evloop) forget(p *pair) {
	for _, s := range []*side{&p.a, &p.b} {
		if l.side(s.fd) == s {
			l.sides[s.fd] = nil
		}
	}
}

func (l *evloop) side(fd int) *side {
	if fd < 0 || fd >= len(l.sides) {
		return nil
	}
	return l.sides[fd]
}

// close ends the pair on the loop; reset sends RST (an error on one side
// is passed on as one).
func (l *evloop) close(p *pair, reset bool) {
	p.mu.Lock()
	if p.closed.Swap(true) {
		p.mu.Unlock()
		return
	}
	l.forget(p)
	l.unhold(p)
	for _, fd := range []int{p.a.fd, p.b.fd} {
		if reset {
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
		_ = unix.Close(fd)
	}
	p.mu.Unlock()
	p.onClose()
}

// rawIO reads or writes a non-blocking socket without telling the Go
// scheduler: it never blocks, and the bookkeeping of a blocking syscall is
// a good part of what a relayed request costs in user space.
func rawIO(trap uintptr, fd int, b []byte) (int, error) {
	n, _, e := unix.RawSyscall(trap, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(b))), uintptr(len(b)))
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// epollPeek is epoll_pwait (epoll_wait on every architecture) with a zero
// timeout and no signal mask: it never blocks.
func epollPeek(ep int, evs []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(ep), uintptr(unsafe.Pointer(unsafe.SliceData(evs))), uintptr(len(evs)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}
