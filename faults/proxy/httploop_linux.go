package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The http mode's fast path, with faults or without. A client connection
// and an upstream connection of its own are relayed by an event loop
// (relay_linux.go) as raw HTTP/1.1, request by request: the loop reads a
// message head only far enough to know where the body ends, rewrites
// nothing and passes streamed answers on as they come. Once a request's
// head is in, the loop decides the route's faults for it (loopfault.go):
// it holds the request (latency, jitter) or the answer's head (ttfb) until
// a deadline (hold_linux.go), or answers in the proxy's name (http-error,
// fail-first) and drops the request's body. A request a fault the loop
// cannot serve matches (one that rewrites a streaming answer) is lent to
// the fault chain and the connection comes back after it (lend_linux.go).
// A request the fast path does not do at all (an upgrade, 100-continue,
// HTTP/1.0) goes, with every byte not yet consumed, to the net/http server
// for good. So a fault added to the
// route applies to every request whose head arrives after Add returns, on
// old keep-alive connections too. The loop reads the next request only
// once the answer before it is delivered.

// flow is where an HTTP connection is between its messages.
type flow struct {
	rt      *Route
	handoff func(net.Conn) // to the net/http server
	at      flowAt
	head    []byte // the message head gathered so far
	body    body
	isHead  bool   // the request is HEAD: its answer has no body
	closing bool   // the connection ends once this answer is delivered
	raw     bool   // no more message boundaries: bytes pass as on a tcp route
	rest    []byte // client bytes past the request, read before its answer ended

	// what the faults made of the request under way (loopfault.go)
	ttfb   time.Duration // hold the answer's head this long
	answer []byte        // the proxy's own answer: the request's body is dropped
	after  time.Duration // hold the proxy's answer this long
	cut    bool          // close once the proxy's answer is out
}

type flowAt int

const (
	atRequestHead flowAt = iota
	atRequestBody
	atAnswerHead
	atAnswerBody
)

const (
	maxRequestHead = 16 << 10
	maxAnswerHead  = 64 << 10
)

// reads says whether the loop reads s now: an http client's next request
// waits until the answer before it is delivered (flowFlushed reads it then).
func (l *evloop) reads(s *side) bool {
	p := s.pair
	f := p.flow
	if f == nil || f.raw || s != &p.a {
		return true
	}
	switch f.at {
	case atRequestBody:
		return true
	case atRequestHead:
		return !f.closing && len(p.a.pending) == 0
	}
	return false
}

func (l *evloop) flowRead(s *side, b []byte) {
	p := s.pair
	f := p.flow
	switch {
	case f.raw && s == &p.a:
		l.write(&p.b, b)
	case f.raw:
		l.write(&p.a, b)
	case s == &p.a:
		l.fromClient(p, b)
	default:
		l.fromUpstream(p, b)
	}
}

// fromClient passes on what belongs to the current request; bytes of the
// next one wait in rest.
func (l *evloop) fromClient(p *pair, b []byte) {
	f := p.flow
	if f.at == atAnswerHead || f.at == atAnswerBody || f.at == atRequestHead && (len(p.a.pending) > 0 || f.closing) {
		// read early (the client is done sending): the next request waits
		// until the answer before it is delivered (flowFlushed)
		if f.rest = append(f.rest, b...); len(f.rest) > maxRequestHead {
			l.close(p, true)
		}
		return
	}
	if f.at == atRequestBody {
		n, done, err := f.body.take(b)
		if err != nil {
			l.close(p, true)
			return
		}
		if done {
			f.at = atAnswerHead
			f.rest = append(f.rest, b[n:]...)
		}
		if f.answer != nil { // answered by the proxy: the body goes nowhere
			if done {
				l.inject(p)
			}
			return
		}
		l.write(&p.b, b[:n])
		return
	}
	msg, i := f.gather(b)
	if i < 0 {
		if len(f.head) > maxRequestHead {
			l.handoff(p, f.head)
		}
		return
	}
	rf, err := parseHead(msg[:i], true)
	if err != nil || rf.slow {
		l.handoff(p, msg)
		return
	}
	var v verdict
	if cur := *f.rt.installed.Load(); len(cur) > 0 {
		rq := newRawRequest(msg[:i])
		if v = decideRaw(cur, &rq); v.slow {
			l.lend(p, msg) // this request through the fault chain, then back
			return
		}
	}
	f.rt.requests.Add(1)
	f.isHead = bytes.HasPrefix(msg, []byte("HEAD "))
	f.closing = rf.close
	f.body = newBody(rf, true, false)
	n, done, err := f.body.take(msg[i:])
	if err != nil {
		l.close(p, true)
		return
	}
	f.at = atRequestBody
	if done {
		f.at = atAnswerHead
		f.rest = append(f.rest, msg[i+n:]...)
	}
	f.head = f.head[:0] // msg stays as it is until more is gathered
	if v.answer != nil {
		f.answer, f.after, f.cut = v.answer, v.delay+v.ttfb, v.cut
		if done {
			l.inject(p)
		}
		return
	}
	if v.delay > 0 {
		l.holdFor(&p.b, v.delay)
	}
	f.ttfb = v.ttfb
	l.write(&p.b, msg[:i+n])
}

// inject writes the proxy's own answer to the request just read.
func (l *evloop) inject(p *pair) {
	f := p.flow
	b := f.answer
	f.answer = nil
	f.at = atRequestHead
	f.closing = f.closing || f.cut
	if f.after > 0 {
		l.holdFor(&p.a, f.after)
	}
	l.write(&p.a, b)
	if len(p.a.pending) == 0 && !p.closed.Load() {
		l.flowFlushed(p)
	}
}

// gather adds b to the message head gathered so far and returns the bytes
// from the head's start and where the head ends in them (-1: not yet). A
// head that comes whole in one read is not copied.
func (f *flow) gather(b []byte) ([]byte, int) {
	msg := b
	if len(f.head) > 0 {
		f.head = append(f.head, b...)
		msg = f.head
	}
	i := bytes.Index(msg, []byte("\r\n\r\n"))
	if i < 0 {
		if len(f.head) == 0 {
			f.head = append(f.head, b...)
		}
		return nil, -1
	}
	return msg, i + 4
}

// fromUpstream passes the answer on and notes where it ends.
func (l *evloop) fromUpstream(p *pair, b []byte) {
	f := p.flow
	if f.ttfb > 0 && f.at == atAnswerHead && len(f.head) == 0 {
		l.holdFor(&p.a, f.ttfb) // from the answer's first byte on
		f.ttfb = 0
	}
	for len(b) > 0 && !p.closed.Load() {
		switch f.at {
		case atRequestHead, atRequestBody:
			// an answer before the request ended (an early error, a
			// timeout notice): no boundaries to follow any more
			f.raw = true
			l.write(&p.a, b)
			return
		case atAnswerBody:
			n, done, err := f.body.take(b)
			if err != nil {
				l.close(p, true)
				return
			}
			l.write(&p.a, b[:n])
			if b = b[n:]; done {
				l.answered(p, b)
			}
			return
		}
		msg, i := f.gather(b)
		if i < 0 {
			if len(f.head) > maxAnswerHead {
				l.close(p, true)
			}
			return
		}
		af, err := parseHead(msg[:i], false)
		code := 0
		if err == nil { // the head starts "HTTP/1.1 "
			code, _ = strconv.Atoi(string(msg[9:min(12, len(msg))]))
		}
		if err != nil || code == http.StatusSwitchingProtocols {
			f.raw = true
			l.write(&p.a, msg)
			f.head = nil
			return
		}
		if code >= 100 && code < 200 { // 103 Early Hints and the like: the answer follows
			l.write(&p.a, msg[:i])
			b = append([]byte(nil), msg[i:]...)
			f.head = f.head[:0]
			continue
		}
		f.body = newBody(af, false, f.isHead || code == 204 || code == 304)
		f.closing = f.closing || af.close || f.body.mode == bodyToClose
		n, done, err := f.body.take(msg[i:])
		if err != nil {
			l.close(p, true)
			return
		}
		f.at = atAnswerBody
		l.write(&p.a, msg[:i+n])
		f.head = f.head[:0]
		if done {
			l.answered(p, msg[i+n:])
		}
		return
	}
}

// answered: the answer's last byte is on its way to the client.
func (l *evloop) answered(p *pair, extra []byte) {
	f := p.flow
	f.at = atRequestHead
	if len(extra) > 0 { // bytes past the answer: the upstream is confused
		f.closing = true
	}
	if len(p.a.pending) == 0 {
		l.flowFlushed(p)
	}
}

// flowFlushed runs when the client has taken every byte written to it:
// the connection ends there, or the next request (maybe read already) goes.
func (l *evloop) flowFlushed(p *pair) {
	f := p.flow
	if f.raw || f.at != atRequestHead {
		return
	}
	if f.closing {
		l.close(p, false)
		return
	}
	if len(f.rest) > 0 {
		b := f.rest
		f.rest = nil
		l.fromClient(p, b)
	}
	l.pump(&p.a) // the next request, if it came meanwhile
}

// handoff gives the client connection, with unread in front of what it has
// not read yet, to the net/http server, and closes the upstream one.
func (l *evloop) handoff(p *pair, unread []byte) {
	p.mu.Lock()
	if p.closed.Swap(true) {
		p.mu.Unlock()
		return
	}
	l.forget(p)
	l.unhold(p)
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, p.a.fd, nil)
	_ = unix.Close(p.b.fd)
	file := os.NewFile(uintptr(p.a.fd), "client")
	c, err := net.FileConn(file) // a duplicate, in Go's poller
	_ = file.Close()
	p.mu.Unlock()
	p.onClose()
	if err != nil {
		return
	}
	rd := io.Reader(c)
	if len(unread) > 0 {
		rd = io.MultiReader(bytes.NewReader(append([]byte(nil), unread...)), c)
	}
	go p.flow.handoff(&bufConn{Conn: c, br: bufio.NewReader(rd)})
}
