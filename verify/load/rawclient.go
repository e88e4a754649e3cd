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
	addr   string
	reqs   [][]byte // per class
	dialer net.Dialer
	conns  *connCounter
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

// doRaw sends the request of class over the worker's connection, retrying once
// on a fresh connection when a reused one turns out to be closed.
func (w *worker) doRaw(class int) (h head, body io.Reader, err error) {
	rc := w.g.raw
	for attempt := 0; attempt < 2; attempt++ {
		if w.rc.c == nil {
			c, err := rc.conns.dial(w.base, &rc.dialer, "tcp", rc.addr)
			if err != nil {
				return h, nil, err
			}
			w.rc.c, w.rc.fresh = c, true
			if w.rc.br == nil {
				w.rc.br = bufio.NewReaderSize(c, 16<<10)
			}
			w.rc.br.Reset(c)
		}
		reused := !w.rc.fresh
		w.rc.fresh = false
		_ = w.rc.c.SetDeadline(time.Now().Add(w.g.cfg.Timeout))
		if _, err = w.rc.c.Write(rc.reqs[class]); err == nil {
			h, err = w.readHead()
		}
		if err == nil {
			break
		}
		w.closeRaw()
		if !reused || w.rc.br.Buffered() > 0 || classify(err) == failTimeout {
			return h, nil, err
		}
	}
	if err != nil {
		return h, nil, err
	}
	switch {
	case h.chunked:
		w.rc.eof = eofReader{r: httputil.NewChunkedReader(w.rc.br)}
	case h.length >= 0:
		w.rc.lr = io.LimitedReader{R: w.rc.br, N: h.length}
		w.rc.eof = eofReader{r: &w.rc.lr}
	default:
		w.rc.eof = eofReader{r: w.rc.br}
		h.keepAlive = false
	}
	return h, &w.rc.eof, nil
}

// finishRaw keeps the connection for the next request when the answer was
// read to its end and the server allows it.
func (w *worker) finishRaw(h head) {
	if h.chunked && w.rc.eof.eof && h.keepAlive {
		// The chunked reader stops after the last chunk; skip the trailer.
		for {
			line, err := w.rc.br.ReadSlice('\n')
			if err != nil {
				h.keepAlive = false
				break
			}
			if len(bytes.TrimRight(line, "\r\n")) == 0 {
				break
			}
		}
	}
	if !h.keepAlive || !w.rc.eof.eof || w.rc.lr.N > 0 {
		w.closeRaw()
	}
	w.rc.lr = io.LimitedReader{}
}

func (w *worker) closeRaw() {
	if w.rc.c != nil {
		_ = w.rc.c.Close()
		w.rc.c = nil
	}
}

// readHead parses the status line and the headers the sender needs.
func (w *worker) readHead() (h head, err error) {
	br := w.rc.br
	for {
		line, err := br.ReadSlice('\n')
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
		line, err := w.rc.br.ReadSlice('\n')
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
