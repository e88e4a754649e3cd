package proxy

import (
	"context"
	"fmt"
	"net/http"
)

// eventWriter wraps a response writer and calls before(n) just before the
// first byte of the n-th SSE event (0-based; an event ends at a blank line)
// is written, flushing each completed event. It is how stream faults stall,
// slow down or cut a stream at event boundaries. before may sleep, or return
// errCut to end the answer mid-stream.
type eventWriter struct {
	http.ResponseWriter
	ctx    context.Context
	before func(n int) error
	header func() // once, before the status line goes out (ttfb)
	events int
	nl     int
	fresh  bool // the next byte starts an event
	cut    bool
}

var errCut = fmt.Errorf("stream cut by chaos")

func newEventWriter(w http.ResponseWriter, r *http.Request) *eventWriter {
	return &eventWriter{ResponseWriter: w, ctx: r.Context(), fresh: true}
}

func (e *eventWriter) WriteHeader(code int) {
	if e.header != nil {
		e.header()
		e.header = nil
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *eventWriter) Write(b []byte) (int, error) {
	if e.header != nil {
		e.header()
		e.header = nil
	}
	if e.cut {
		return 0, errCut
	}
	written := 0
	for i := 0; i < len(b); {
		if e.fresh && e.before != nil {
			if err := e.before(e.events); err != nil {
				e.cut = true
				_ = http.NewResponseController(e.ResponseWriter).Flush()
				return written, err
			}
		}
		e.fresh = false
		j := i
		for j < len(b) {
			c := b[j]
			j++
			if c == '\n' {
				if e.nl++; e.nl == 2 {
					e.events++
					e.nl = 0
					e.fresh = true
					break
				}
			} else if c != '\r' {
				e.nl = 0
			}
		}
		n, err := e.ResponseWriter.Write(b[i:j])
		written += n
		if err != nil {
			return written, err
		}
		if e.fresh {
			_ = http.NewResponseController(e.ResponseWriter).Flush()
		}
		i = j
	}
	return written, nil
}

// Flush implements http.Flusher.
func (e *eventWriter) Flush() { _ = http.NewResponseController(e.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the underlying writer.
func (e *eventWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// serve forwards through e and turns a cut into an aborted connection, so
// the client reads a stream that ends without its last events (and [DONE]).
func (e *eventWriter) serve(next http.Handler, r *http.Request) {
	next.ServeHTTP(e, r)
	if e.cut {
		panic(http.ErrAbortHandler)
	}
}
