package proxy

import (
	"errors"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// The tcp mode's fast path. A connection accepted while no fault is
// installed has nothing to do but move bytes, so it leaves Go's netpoller:
// its two sockets go to one of a few event loops (one per GOMAXPROCS), each
// an epoll set over raw non-blocking descriptors. A loop reads a socket only
// when epoll says it has bytes and writes them straight to the other, so a
// request and its answer cost the four reads and writes they must, with no
// failed read, goroutine wake-up or scheduler pass in between; a slow reader
// parks the bytes it did not take and pauses the other side (backpressure).
// Faults decide per connection at accept, so a relayed connection keeps
// running as it is when a fault is added later, as on the goroutine path.

// relay is the process's set of event loops, started on first use.
var relay = sync.OnceValues(startLoops)

type evloop struct {
	ep  int
	buf []byte

	mu    sync.Mutex
	sides map[int32]*side
}

// side is one socket of a relayed pair.
type side struct {
	fd      int
	peer    *side
	pair    *pair
	pending []byte // bytes read from peer not yet written to fd
	eof     bool   // fd has no more to read
	shut    bool   // fd's write side is shut down
	events  uint32 // what epoll waits for on fd
}

// pair is a relayed connection.
type pair struct {
	a, b    side  // http: a is the client, b the upstream
	flow    *flow // http routes: where each message ends (httploop_linux.go)
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
		ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			for _, l := range loops {
				_ = unix.Close(l.ep)
			}
			return nil, err
		}
		l := &evloop{ep: ep, buf: make([]byte, 64<<10), sides: map[int32]*side{}}
		loops = append(loops, l)
		go l.run()
	}
	return loops, nil
}

var nextLoop atomic.Uint32

// relayPair hands two connected TCP sockets to an event loop: started gets
// the connection (to close it from outside) before any byte moves, onClose
// runs once both sockets are closed. On success the net.Conns are closed (the
// loop holds duplicates of their descriptors); on error nothing changed.
func relayPair(a, b net.Conn, fl *flow, started func(io.Closer), onClose func()) error {
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
	p := &pair{flow: fl, onClose: onClose}
	p.a = side{fd: fa, peer: &p.b, pair: p, events: unix.EPOLLIN}
	p.b = side{fd: fb, peer: &p.a, pair: p, events: unix.EPOLLIN}
	l := loops[nextLoop.Add(1)%uint32(len(loops))]
	started(p)
	// Into epoll first, then into the table: the loop skips a descriptor
	// it does not know yet, and epoll (level-triggered) tells it again.
	for _, fd := range []int{fa, fb} {
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}); err != nil {
			_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, fa, nil)
			_ = unix.Close(fa)
			_ = unix.Close(fb)
			return err
		}
	}
	l.mu.Lock()
	l.sides[int32(fa)], l.sides[int32(fb)] = &p.a, &p.b
	l.mu.Unlock()
	_ = a.Close()
	_ = b.Close()
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
		n, err := unix.EpollWait(l.ep, evs, -1)
		if err != nil {
			continue // EINTR
		}
		for i := range evs[:n] {
			l.mu.Lock()
			s := l.sides[evs[i].Fd]
			l.mu.Unlock()
			if s == nil || s.pair.closed.Load() {
				continue
			}
			ev := evs[i].Events
			if ev&unix.EPOLLOUT != 0 {
				l.flush(s)
			}
			if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) != 0 && !s.pair.closed.Load() {
				l.readFrom(s, ev&(unix.EPOLLHUP|unix.EPOLLERR) != 0)
			}
		}
	}
}

// readFrom moves what s has to its peer; hup: the socket has an error or
// is shut both ways (epoll says so whether asked or not).
func (l *evloop) readFrom(s *side, hup bool) {
	if s.eof || len(s.peer.pending) > 0 || !hup && !l.reads(s) {
		return
	}
	n, err := unix.Read(s.fd, l.buf)
	switch {
	case n > 0 && s.pair.flow != nil:
		l.flowRead(s, l.buf[:n])
	case n > 0:
		l.write(s.peer, l.buf[:n])
	case n == 0 && err == nil:
		s.eof = true
		l.update(s)
		l.maybeShut(s.peer)
	case err == unix.EAGAIN || err == unix.EINTR:
	default:
		l.close(s.pair, true)
	}
}

// write sends b to s, keeping what s does not take for later.
func (l *evloop) write(s *side, b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(s.fd, b)
		if n > 0 {
			b = b[n:]
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			s.pending = append(s.pending[:0], b...)
			l.update(s)
			l.update(s.peer) // stop reading the peer until s drains
			return
		}
		l.close(s.pair, true)
		return
	}
}

// flush writes s's pending bytes now that s takes them.
func (l *evloop) flush(s *side) {
	b := s.pending
	s.pending = nil
	l.write(s, b)
	if s.pair.closed.Load() || len(s.pending) > 0 {
		return
	}
	s.pending = b[:0]
	l.update(s)
	l.update(s.peer)
	l.maybeShut(s)
	if s.pair.flow != nil && !s.pair.closed.Load() {
		l.flowFlushed(s.pair)
	}
}

// maybeShut passes the peer's end on to s once s has written everything.
func (l *evloop) maybeShut(s *side) {
	if !s.peer.eof || len(s.pending) > 0 || s.shut {
		return
	}
	s.shut = true
	_ = unix.Shutdown(s.fd, unix.SHUT_WR)
	if s.shut && s.peer.shut {
		l.close(s.pair, false)
	}
}

// update sets what epoll waits for on s: bytes to read while its peer
// has nothing parked, room to write while s has.
func (l *evloop) update(s *side) {
	var want uint32
	if !s.eof && len(s.peer.pending) == 0 && l.reads(s) {
		want |= unix.EPOLLIN
	}
	if len(s.pending) > 0 {
		want |= unix.EPOLLOUT
	}
	if want == s.events {
		return
	}
	s.events = want
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, s.fd, &unix.EpollEvent{Events: want, Fd: int32(s.fd)})
}

// forget drops the pair's sockets from the loop's table.
func (l *evloop) forget(p *pair) {
	l.mu.Lock()
	delete(l.sides, int32(p.a.fd))
	delete(l.sides, int32(p.b.fd))
	l.mu.Unlock()
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
	for _, fd := range []int{p.a.fd, p.b.fd} {
		if reset {
			_ = unix.SetsockoptLinger(fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		}
		_ = unix.Close(fd)
	}
	p.mu.Unlock()
	if p.onClose != nil {
		p.onClose()
	}
}
