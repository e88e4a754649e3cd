package proxy

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
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

// TTFB holds the answer's first byte (its status line) for Delay ± Jitter:
// the request is forwarded at once, so the upstream works while the client
// waits.
type TTFB struct {
	base
	Delay, Jitter time.Duration
}

var _ loopFault = (*TTFB)(nil)

// decide implements loopFault: the loop holds the answer's head.
func (t *TTFB) decide(rq *rawRequest, v *verdict) bool {
	if t.appliesRaw(rq) {
		v.ttfb += t.Delay + t.Chance.Jitter(t.Jitter)
	}
	return false
}

// ServeHTTP implements Fault.
func (t *TTFB) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !t.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	d := t.Delay + t.Chance.Jitter(t.Jitter)
	e.header = func() { sleep(r.Context(), d) }
	e.serve(next, r)
}

// StreamStall pauses an SSE answer for For after After events (after 0
// holds the first byte too), then lets it go on.
type StreamStall struct {
	base
	After int
	For   time.Duration
}

// ServeHTTP implements Fault.
func (s *StreamStall) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(n int) error {
		if n == s.After {
			if !sleep(e.ctx, s.For) {
				return errCut
			}
		}
		return nil
	}
	e.serve(next, r)
}

// StreamCut ends an SSE answer after After events by closing the
// connection mid-answer: no further events, no [DONE].
type StreamCut struct {
	base
	After int
}

// ServeHTTP implements Fault.
func (s *StreamCut) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(n int) error {
		if n >= s.After {
			return errCut
		}
		return nil
	}
	e.serve(next, r)
}

// SlowTokens delays every SSE event by Delay ± Jitter: a model that
// streams slowly.
type SlowTokens struct {
	base
	Delay, Jitter time.Duration
}

// ServeHTTP implements Fault.
func (s *SlowTokens) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(int) error {
		if !sleep(e.ctx, s.Delay+s.Chance.Jitter(s.Jitter)) {
			return errCut
		}
		return nil
	}
	e.serve(next, r)
}

type delayParams struct {
	Common
	Delay  units.Duration `json:"delay"`
	Jitter units.Duration `json:"jitter"`
}

type eventParams struct {
	Common
	After int            `json:"after"`
	For   units.Duration `json:"for"`
}

func httpTTFB(p []byte, b base) (Fault, error) {
	var v delayParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &TTFB{base: b, Delay: v.Delay.D(), Jitter: v.Jitter.D()}, nil
}

func httpSlowTokens(p []byte, b base) (Fault, error) {
	var v delayParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &SlowTokens{base: b, Delay: v.Delay.D(), Jitter: v.Jitter.D()}, nil
}

func httpStreamStall(p []byte, b base) (Fault, error) {
	var v eventParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if v.After < 0 || v.For <= 0 {
		return nil, fmt.Errorf("after must be 0 or more and for more than 0s (got after %d, for %s)", v.After, v.For)
	}
	return &StreamStall{base: b, After: v.After, For: v.For.D()}, nil
}

func httpStreamCut(p []byte, b base) (Fault, error) {
	var v eventParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if v.After < 0 || v.For != 0 {
		return nil, fmt.Errorf("after must be 0 or more, and stream-cut takes no for (got after %d)", v.After)
	}
	return &StreamCut{base: b, After: v.After}, nil
}
