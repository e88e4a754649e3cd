package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"time"
)

// rawClient is the default sender for http:// URLs: each worker owns at most
// one keep-alive HTTP/1.1 connection, writes the class's request bytes
// (serialised once) and parses the answer in place. Compared with
// net/http.Transport it saves the per-connection read and write goroutines,
// the pool's locks and the per-request header maps: about half the CPU per
// request. HTTPS and a custom Config.Client go through net/http.
type rawClient struct {
	addr      string
	reqs      [][]byte // per class
	closeReqs [][]byte // per class, with Connection: close (fresh connections)
	dialer    net.Dialer
	conns     *connCounter
}

// newRawClient serialises each class's request template.
func newRawClient(g *Generator) (*rawClient, error) {
	rc := &rawClient{addr: g.reqs[0].URL.Host, conns: g.conns, dialer: net.Dialer{Timeout: g.cfg.Timeout, KeepAlive: 30 * time.Second}}
	if g.reqs[0].URL.Port() == "" {
		rc.addr = net.JoinHostPort(rc.addr, "80")
	}
	for _, tmpl := range g.reqs {
		r := tmpl.Clone(tmpl.Context())
		b := &bodyReader{}
		b.Reset(g.cfg.Body)
		r.Body = b
		if r.Header.Get("User-Agent") == "" {
			r.Header.Set("User-Agent", "chaos-load")
		}
		var buf bytes.Buffer
		if err := r.Write(&buf); err != nil {
			return nil, fmt.Errorf("load: serialising the request: %w", err)
		}
		rc.reqs = append(rc.reqs, buf.Bytes())
		r.Close = true
		b.Reset(g.cfg.Body)
		var cbuf bytes.Buffer
		if err := r.Write(&cbuf); err != nil {
			return nil, fmt.Errorf("load: serialising the request: %w", err)
		}
		rc.closeReqs = append(rc.closeReqs, cbuf.Bytes())
	}
	return rc, nil
}

// rawConn is one worker's connection and its framing state.
type rawConn struct {
	c     net.Conn
	br    *bufio.Reader
	lr    io.LimitedReader
	eof   eofReader
	fresh bool // not yet used for a request: errors are not a stale keep-alive
}

// eofReader remembers whether the body was read to its end.
type eofReader struct {
	r   io.Reader
	eof bool
}

// Read passes through and notes io.EOF.
func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

// head is what the sender needs from the response header.
type head struct {
	status          int
	json, keepAlive bool
	chunked         bool
	length          int64 // -1 = until EOF
	marked          bool  // the degraded header matched
}

var errMalformed = errors.New("load: malformed HTTP response")

// dialRaw opens a connection for the current request and records that it
// did, how long the TCP connect took, or that it failed.
func (w *worker) dialRaw() (net.Conn, error) {
	rc, r := w.g.raw, &w.res
	t0 := time.Now()
	c, err := rc.conns.dial(w.base, &rc.dialer, "tcp", rc.addr)
	r.dialed = true
	if err != nil {
		r.connectFail = true
		return nil, err
	}
	r.connect = time.Since(t0)
	return c, nil
}

// doFresh sends the request of class the way a new client does: it dials,
// sends it with Connection: close, and finishRaw closes the connection.
func (w *worker) doFresh(class int) (h head, body io.Reader, err error) {
	w.cur = &w.fc
	c, err := w.dialRaw()
	if err != nil {
		return h, nil, err
	}
	w.fc.c = c
	if w.fc.br == nil {
		w.fc.br = bufio.NewReaderSize(c, 16<<10)
	}
	w.fc.br.Reset(c)
	_ = c.SetDeadline(time.Now().Add(w.g.cfg.Timeout))
	if _, err = c.Write(w.g.raw.closeReqs[class]); err == nil {
		h, err = w.readHead()
	}
	if err != nil {
		w.closeRaw()
		return h, nil, err
	}
	h.keepAlive = false
	return h, w.bodyOf(h), nil
}

// doRaw sends the request of class over the worker's connection, retrying once
// on a fresh connection when a reused one turns out to be closed.
func (w *worker) doRaw(class int) (h head, body io.Reader, err error) {
	rc := w.g.raw
	w.cur = &w.rc
	for attempt := 0; attempt < 2; attempt++ {
		if w.cur.c == nil {
			c, err := w.dialRaw()
			if err != nil {
				return h, nil, err
			}
			w.cur.c, w.cur.fresh = c, true
			if w.cur.br == nil {
				w.cur.br = bufio.NewReaderSize(c, 16<<10)
			}
			w.cur.br.Reset(c)
		}
		reused := !w.cur.fresh
		w.cur.fresh = false
		_ = w.cur.c.SetDeadline(time.Now().Add(w.g.cfg.Timeout))
		if _, err = w.cur.c.Write(rc.reqs[class]); err == nil {
			h, err = w.readHead()
		}
		if err == nil {
			break
		}
		w.closeRaw()
		if !reused || w.cur.br.Buffered() > 0 || classify(err) == failTimeout {
			return h, nil, err
		}
	}
	if err != nil {
		return h, nil, err
	}
	return h, w.bodyOf(h), nil
}

// bodyOf frames the answer's body on the current connection.
func (w *worker) bodyOf(h head) io.Reader {
	switch {
	case h.chunked:
		w.cur.eof = eofReader{r: httputil.NewChunkedReader(w.cur.br)}
	case h.length >= 0:
		w.cur.lr = io.LimitedReader{R: w.cur.br, N: h.length}
		w.cur.eof = eofReader{r: &w.cur.lr}
	default:
		w.cur.eof = eofReader{r: w.cur.br}
	}
	return &w.cur.eof
}

// finishRaw keeps the connection for the next request when the answer was
// read to its end and the server allows it.
func (w *worker) finishRaw(h head) {
	if h.chunked && w.cur.eof.eof && h.keepAlive {
		// The chunked reader stops after the last chunk; skip the trailer.
		for {
			line, err := w.cur.br.ReadSlice('\n')
			if err != nil {
				h.keepAlive = false
				break
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
	}
	untilEOF := !h.chunked && h.length < 0
	if !h.keepAlive || untilEOF || w.cur != &w.rc || !w.cur.eof.eof || w.cur.lr.N > 0 {
		w.closeRaw()
	}
	w.cur.lr = io.LimitedReader{}
}

// closeRaw closes the current connection.
func (w *worker) closeRaw() {
	if w.cur != nil && w.cur.c != nil {
		_ = w.cur.c.Close()
		w.cur.c = nil
	}
}

// closeConns closes the worker's connections when it stops.
func (w *worker) closeConns() {
	for _, c := range []*rawConn{&w.rc, &w.fc} {
		if c.c != nil {
			_ = c.c.Close()
			c.c = nil
		}
	}
}

// readHead parses the status line and the headers the sender needs.
func (w *worker) readHead() (h head, err error) {
	br := w.cur.br
	for {
		line, err := br.ReadSlice('\n')
		if r := &w.res; r.ttfb < 0 && (err == nil || len(line) > 0) {
			r.ttfb = w.g.since() - r.intended
		}
		if err != nil {
			if err == io.EOF && br.Buffered() == 0 {
				return h, io.EOF
			}
			return h, err
		}
		if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
			return h, errMalformed
		}
		h = head{length: -1, keepAlive: line[7] == '1'}
		for _, c := range line[9:12] {
			if c < '0' || c > '9' {
				return h, errMalformed
			}
			h.status = h.status*10 + int(c-'0')
		}
		if err := w.readHeaders(&h); err != nil {
			return h, err
		}
		if h.status >= 200 || h.status == 101 { // skip 1xx interim answers
			break
		}
	}
	if h.status == 204 || h.status == 304 || w.g.cfg.Method == http.MethodHead {
		h.length, h.chunked = 0, false
	}
	return h, nil
}

// readHeaders reads header lines up to the blank line.
func (w *worker) readHeaders(h *head) error {
	mark := w.g.markHeader
	for {
		line, err := w.cur.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return nil
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			return errMalformed
		}
		name, val := line[:i], bytes.TrimSpace(line[i+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			h.length = int64(parseTokens(val))
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			h.chunked = bytes.EqualFold(val, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(val, []byte("close")) {
				h.keepAlive = false
			} else if bytes.EqualFold(val, []byte("keep-alive")) {
				h.keepAlive = true
			}
		case bytes.EqualFold(name, []byte("Content-Type")):
			h.json = bytes.HasPrefix(val, []byte("application/json"))
		}
		if mark != "" && bytes.EqualFold(name, []byte(mark)) && string(val) == w.g.cfg.Degraded.Equals {
			h.marked = true
		}
	}
}
