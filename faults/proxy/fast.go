package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// handoff is a net.Listener fed with connections the fast path gives up.
type handoff struct {
	ch     chan net.Conn
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.closed:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error   { h.once.Do(func() { close(h.closed) }); return nil }
func (h *handoff) Addr() net.Addr { return h.addr }

// bufConn reads what the fast path buffered before the rest of the conn.
type bufConn struct {
	net.Conn
	br *bufio.Reader
}

func (b *bufConn) Read(p []byte) (int, error) { return b.br.Read(p) }

var errSlowPath = errors.New("not for the fast path")

// serveFast accepts client connections of an http route.
func (rt *Route) serveFast(h *handoff) {
	for {
		c, err := rt.ln.Accept()
		if err != nil {
			select {
			case <-rt.done:
				return
			default:
				time.Sleep(5 * time.Millisecond)
				continue
			}
		}
		go rt.startHTTP(c, h)
	}
}

// startHTTP dials the upstream for a new client connection and gives both
// to an event loop (httploop_linux.go), faults or none. With no upstream to
// dial, or no event loops (portable.go), the client goes to the net/http
// server: it answers 502 for the one, serves the faults for the other.
func (rt *Route) startHTTP(c net.Conn, h *handoff) {
	give := func(x net.Conn) {
		select {
		case h.ch <- x:
		case <-rt.done:
			_ = x.Close()
		}
	}
	if !useLoops() {
		give(c) // the portable path (portable.go)
		return
	}
	up, err := net.DialTimeout("tcp", rt.upstream, 5*time.Second)
	if err != nil {
		rt.upstreamKO.Add(1)
		give(c)
		return
	}
	if err := rt.relayHTTP(c, up, give); err != nil {
		_ = up.Close()
		give(c)
	}
}

// framing is what a message head says about its body.
type framing struct {
	length  int64 // -1: none given
	chunked bool
	close   bool
	slow    bool // upgrade, expect: 100-continue
}

// parseHead reads the framing of a whole message head.
func parseHead(head []byte, request bool) (framing, error) {
	f := framing{length: -1}
	first := true
	for len(head) > 0 {
		i := bytes.IndexByte(head, '\n')
		if i < 0 {
			break
		}
		l := bytes.TrimRight(head[:i], "\r")
		head = head[i+1:]
		if first {
			first = false
			if request && !bytes.HasSuffix(l, []byte(" HTTP/1.1")) || !request && !bytes.HasPrefix(l, []byte("HTTP/1.1 ")) {
				return f, errSlowPath
			}
			continue
		}
		if len(l) == 0 {
			break
		}
		k, v, ok := bytes.Cut(l, []byte(":"))
		if !ok {
			return f, errSlowPath
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEq(k, "content-length"):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || (f.length >= 0 && f.length != n) {
				return f, errSlowPath
			}
			f.length = n
		case asciiEq(k, "transfer-encoding"):
			if !asciiEq(v, "chunked") {
				return f, errSlowPath
			}
			f.chunked = true
		case asciiEq(k, "connection"):
			if asciiEq(v, "close") {
				f.close = true
			} else if !asciiEq(v, "keep-alive") {
				return f, errSlowPath
			}
		case asciiEq(k, "upgrade"), asciiEq(k, "expect"):
			f.slow = true
		}
	}
	if f.chunked && f.length >= 0 {
		return f, errSlowPath
	}
	return f, nil
}

func asciiEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
