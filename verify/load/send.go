package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"
)

// maxBody bounds how much of a non-streaming answer is kept for the marker
// and token count; the rest is read and dropped.
const maxBody = 1 << 20

// bodyReader is a request body: a bytes.Reader that also closes, in one allocation.
type bodyReader struct{ bytes.Reader }

// Close does nothing: the bytes are shared, read-only.
func (*bodyReader) Close() error { return nil }

// worker sends one request at a time and owns its reusable buffers.
type worker struct {
	g    *Generator
	base context.Context // not cancelled by Run's ctx: in-flight requests finish within Timeout
	br   *bufio.Reader   // SSE lines
	rc   rawConn         // the raw client's keep-alive connection
	fc   rawConn         // a fresh connection: one request, then closed
	cur  *rawConn        // the connection of the request in progress
	buf  []byte
	gaps []time.Duration
	res  result
}

// do sends the request of it and returns its result (valid until the next call).
func (w *worker) do(it item) *result {
	g := w.g
	r := &w.res
	*r = result{class: int(it.class), due: it.at, intended: it.at, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1, gaps: w.gaps[:0]}
	r.sent, r.waited = g.since(), it.waited
	if r.sent < r.intended {
		// Handed out up to earlyBy before its time (see earlyBy): the request
		// arrives when it is sent, and that is what it is measured from.
		r.intended = r.sent
	}
	g.sent.Add(1)
	var (
		h    head
		body io.Reader
		err  error
		resp *http.Response
	)
	fresh := g.fresh[it.class]
	var tr *connTrace
	switch {
	case g.raw != nil && fresh:
		h, body, err = w.doFresh(int(it.class))
	case g.raw != nil:
		h, body, err = w.doRaw(int(it.class))
	default:
		ctx, cancel := context.WithTimeout(w.base, g.cfg.Timeout)
		defer cancel()
		tr = &connTrace{}
		resp, err = w.doHTTP(tr.context(ctx), int(it.class), fresh)
		tr.into(r, g.start)
		if err == nil {
			h = head{status: resp.StatusCode, json: isJSON(resp.Header)}
			if g.markHeader != "" {
				v := resp.Header[g.markHeader]
				h.marked = len(v) > 0 && v[0] == g.cfg.Degraded.Equals
			}
			body = resp.Body
		}
	}
	if err != nil {
		r.end = g.since()
		r.fail = classify(err)
		if r.dialed && r.ttfb < 0 && (r.fail == failReset || r.fail == failRefused) {
			r.connectFail = true // connected, then reset before any byte of an answer
		}
		return r
	}
	r.status = h.status
	ok2xx := r.status >= 200 && r.status <= 299
	r.degraded = ok2xx && h.marked
	switch {
	case !ok2xx:
		_, err = io.Copy(io.Discard, io.LimitReader(body, maxBody))
	case g.cfg.Stream && !h.json:
		err = w.readStream(body)
	default:
		err = w.readBody(body)
	}
	if resp != nil {
		resp.Body.Close()
	} else {
		w.finishRaw(h)
	}
	r.end = g.since()
	if err != nil && r.fail == failNone {
		r.fail = classify(err)
	}
	if !g.cfg.Stream || h.json {
		r.ttftEv, r.ttftCont = r.end-r.intended, r.end-r.intended
	}
	w.gaps = r.gaps
	return r
}

// doHTTP sends the request of class through the net/http client; a fresh
// one goes with Connection: close through a client that keeps no idle
// connections (a custom Config.Client decides for itself).
func (w *worker) doHTTP(ctx context.Context, class int, fresh bool) (*http.Response, error) {
	g := w.g
	if g.trace != nil {
		ctx = g.trace(ctx)
	}
	tmpl, client := g.reqs[class], g.client
	if fresh {
		tmpl, client = g.closeReqs[class], g.freshClient
	}
	req := tmpl.WithContext(ctx)
	body := &bodyReader{}
	body.Reset(g.cfg.Body)
	req.Body = body
	return client.Do(req)
}

// isJSON tells a plain JSON answer to a streaming request (some fallbacks answer so).
func isJSON(h http.Header) bool {
	ct := h["Content-Type"]
	return len(ct) > 0 && len(ct[0]) >= 16 && ct[0][:16] == "application/json"
}

// readBody reads a non-streaming answer: marker and usage.completion_tokens.
func (w *worker) readBody(body io.Reader) error {
	buf := w.buf[:0]
	for {
		if len(buf) == cap(buf) {
			if cap(buf) >= maxBody {
				_, err := io.Copy(io.Discard, body)
				w.buf = buf
				return err
			}
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			w.buf = buf
			return err
		}
	}
	w.buf = buf
	g, r := w.g, &w.res
	if raw, _, ok := g.tokensPath.lookup(buf); ok {
		r.tokens = parseTokens(raw)
	}
	if g.markJSON.segs != nil && !r.degraded {
		if val, typ, ok := g.markJSON.lookup(buf); ok && valueEquals(val, typ, g.cfg.Degraded.Equals) {
			r.degraded = true
		}
	}
	return nil
}

var (
	dataPrefix = []byte("data:")
	doneMarker = []byte("[DONE]")
)

// readStream reads server-sent events line by line until [DONE] and EOF.
func (w *worker) readStream(body io.Reader) error {
	g, r := w.g, &w.res
	if w.br == nil {
		w.br = bufio.NewReaderSize(body, 16<<10)
	}
	w.br.Reset(body)
	defer w.br.Reset(nil)
	done := false
	var last time.Duration
	for {
		line, err := w.readLine()
		if len(line) > 0 && bytes.HasPrefix(line, dataPrefix) && !done {
			data := bytes.TrimSpace(line[len(dataPrefix):])
			now := g.since()
			if bytes.Equal(data, doneMarker) {
				done = true
			} else {
				if r.ttftEv < 0 {
					r.ttftEv = now - r.intended
				}
				if val, typ, ok := g.contentPath.lookup(data); ok && contentNonEmpty(val, typ) {
					if r.ttftCont < 0 {
						r.ttftCont = now - r.intended
					} else {
						r.gaps = append(r.gaps, now-last)
					}
					last = now
					r.tokens++
				}
				if g.markJSON.segs != nil && !r.degraded {
					if val, typ, ok := g.markJSON.lookup(data); ok && valueEquals(val, typ, g.cfg.Degraded.Equals) {
						r.degraded = true
					}
				}
			}
		}
		if err == io.EOF || (err != nil && done) {
			if !done {
				r.fail = failTruncated
			}
			return nil
		}
		if err != nil {
			if c := classify(err); c == failTimeout {
				r.fail = c
			} else {
				r.fail = failTruncated
			}
			return nil
		}
	}
}

// readLine returns the next line without its end; long lines are joined in w.buf.
func (w *worker) readLine() ([]byte, error) {
	line, err := w.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		w.buf = append(w.buf[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = w.br.ReadSlice('\n')
			if len(w.buf) < maxBody {
				w.buf = append(w.buf, line...)
			}
		}
		line = w.buf
	}
	return bytes.TrimRight(line, "\r\n"), err
}

// classify maps a transport error to a failure kind.
func classify(err error) failure {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return failTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return failRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF):
		return failReset
	case errors.Is(err, io.ErrUnexpectedEOF):
		return failTruncated
	}
	return failOther
}
