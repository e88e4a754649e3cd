package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// The http mode's fast path. While no fault is installed, a client
// connection is relayed request by request as raw HTTP/1.1 bytes to an
// upstream connection of its own: the head is read only far enough to know
// where the body ends, nothing is rewritten, streamed answers are flushed
// as they come. Before each request it waits for the request's first byte
// and looks at the faults: when one is installed (or the request is
// something the fast path does not do: an upgrade, 100-continue, HTTP/1.0)
// the connection, with every byte not yet consumed, is handed to the
// net/http server and its fault chain for good. So a fault added to the
// route applies to every request whose first byte arrives after Add
// returns, on old keep-alive connections too.

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
		go rt.fastConn(c, h)
	}
}

func (rt *Route) fastConn(c net.Conn, h *handoff) {
	rt.conns.Store(c, struct{}{})
	br := bufio.NewReaderSize(c, 8<<10)
	var up net.Conn
	var ubr *bufio.Reader
	defer func() {
		if up != nil {
			_ = up.Close()
		}
	}()
	head := make([]byte, 0, 1024)
	for {
		if _, err := br.Peek(1); err != nil {
			rt.conns.Delete(c)
			_ = c.Close()
			return
		}
		if len(*rt.installed.Load()) > 0 {
			break
		}
		var err error
		var close bool
		head, close, err = rt.fastRequest(c, br, &up, &ubr, head[:0])
		if errors.Is(err, errSlowPath) {
			break
		}
		if err != nil || close {
			rt.conns.Delete(c)
			_ = c.Close()
			return
		}
	}
	rt.conns.Delete(c)
	select {
	case h.ch <- &bufConn{Conn: c, br: br}:
	case <-rt.done:
		_ = c.Close()
	}
}

// framing is what a message head says about its body.
type framing struct {
	length  int64 // -1: none given
	chunked bool
	close   bool
	slow    bool // upgrade, expect: 100-continue
}

// peekHead waits until a whole message head is buffered in br and returns
// its length (through the blank line), consuming nothing.
func peekHead(br *bufio.Reader) (int, error) {
	for want := max(br.Buffered(), 1); ; want = br.Buffered() + 1 {
		_, err := br.Peek(want)
		b, _ := br.Peek(br.Buffered())
		if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
			return i + 4, nil
		}
		if err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return 0, errSlowPath
			}
			return 0, err
		}
	}
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

// fastRequest relays one request and its answer. When it returns
// errSlowPath nothing of the request has been consumed.
func (rt *Route) fastRequest(c net.Conn, br *bufio.Reader, up *net.Conn, ubr **bufio.Reader, buf []byte) ([]byte, bool, error) {
	n, err := peekHead(br)
	if err != nil {
		return buf, false, err
	}
	head, _ := br.Peek(n)
	rf, err := parseHead(head, true)
	if err != nil || rf.slow {
		return buf, false, errSlowPath
	}
	isHead := bytes.HasPrefix(head, []byte("HEAD "))
	if *up == nil {
		u, err := net.DialTimeout("tcp", rt.upstream, 5*time.Second)
		if err != nil {
			rt.upstreamKO.Add(1)
			return buf, false, errSlowPath // the slow path answers 502
		}
		*up, *ubr = u, bufio.NewReaderSize(u, 16<<10)
	}
	rt.requests.Add(1)
	// Head and a buffered body go out in one write.
	buf = append(buf[:0], head...)
	_, _ = br.Discard(n)
	if rf.length > 0 && int64(br.Buffered()) >= rf.length {
		b, _ := br.Peek(int(rf.length))
		buf = append(buf, b...)
		_, _ = br.Discard(int(rf.length))
		rf.length = 0
	}
	if _, err := (*up).Write(buf); err != nil {
		return buf, true, err
	}
	switch {
	case rf.chunked:
		err = copyChunked(*up, br)
	case rf.length > 0:
		_, err = io.CopyN(*up, br, rf.length)
	}
	if err != nil {
		return buf, true, err
	}
	// The answer.
	n, err = peekHead(*ubr)
	if err != nil {
		return buf, true, err
	}
	head, _ = (*ubr).Peek(n)
	af, err := parseHead(head, false)
	if err != nil {
		return buf, true, err
	}
	code, _ := strconv.Atoi(string(head[9:min(12, len(head))]))
	buf = append(buf[:0], head...)
	_, _ = (*ubr).Discard(n)
	bodyless := isHead || code == 204 || code == 304 || (code >= 100 && code < 200)
	if !bodyless && !af.chunked && af.length > 0 && int64((*ubr).Buffered()) >= af.length {
		b, _ := (*ubr).Peek(int(af.length))
		buf = append(buf, b...)
		_, _ = (*ubr).Discard(int(af.length))
		af.length = 0
	}
	if _, err := c.Write(buf); err != nil {
		return buf, true, err
	}
	switch {
	case bodyless:
	case af.chunked:
		err = copyChunked(c, *ubr)
	case af.length >= 0:
		_, err = io.CopyN(c, *ubr, af.length)
	default:
		_, err = io.Copy(c, *ubr)
		af.close = true
	}
	if err != nil {
		return buf, true, err
	}
	if af.close {
		_ = (*up).Close()
		*up = nil
	}
	return buf, rf.close || af.close, nil
}

// copyChunked copies one chunked body as it is, chunk by chunk (each
// chunk is written at once, so streamed answers are not held back).
func copyChunked(dst io.Writer, src *bufio.Reader) error {
	for {
		line, err := src.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.SplitN(line, []byte(";"), 2)[0])), 16, 64)
		if err != nil || size < 0 {
			return errors.New("bad chunk size")
		}
		if _, err := dst.Write(line); err != nil {
			return err
		}
		if size == 0 {
			for { // trailers, then the blank line
				l, err := src.ReadSlice('\n')
				if err != nil {
					return err
				}
				if _, err := dst.Write(l); err != nil {
					return err
				}
				if len(bytes.TrimRight(l, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := io.CopyN(dst, src, size+2); err != nil {
			return err
		}
	}
}
