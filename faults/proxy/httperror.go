package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Corrupt modes of an injected answer's body.
const (
	CorruptNone      = ""
	CorruptMalformed = "malformed" // the body is not valid JSON; the connection stays usable
	CorruptTruncated = "truncated" // Content-Length promises more; the connection closes mid-body
)

// HTTPError answers a share of requests itself with Status (and
// Retry-After), the way an overloaded inference API does, without
// forwarding them. Corrupt makes the body malformed or truncated JSON.
type HTTPError struct {
	base
	Status     int
	RetryAfter time.Duration
	Body       string
	Corrupt    string
	wire       canned
}

var (
	_ Fault     = (*HTTPError)(nil)
	_ loopFault = (*HTTPError)(nil)
)

// decide implements loopFault: the loop answers.
func (e *HTTPError) decide(rq *rawRequest, v *verdict) bool {
	if !e.appliesRaw(rq) {
		return false
	}
	v.answer = e.wire.get(e.Status, e.RetryAfter, e.Body, e.Corrupt, "http-error", rq.isHead)
	v.cut = e.Corrupt == CorruptTruncated
	return true
}

// ServeHTTP implements Fault.
func (e *HTTPError) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !e.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	writeInjected(w, e.Status, e.RetryAfter, e.Body, e.Corrupt, "http-error")
}

// writeInjected answers an injected error. A truncated body aborts the
// connection after half of it, so the client reads an unexpected EOF.
func writeInjected(w http.ResponseWriter, status int, ra time.Duration, body, corrupt, kind string) {
	retryAfter(w, ra)
	if body == "" {
		body = errorBody(status)
	}
	if corrupt == CorruptMalformed {
		body = `{"id":"chatcmpl-chaos","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"chaos` + "\x00" + `"}]`
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Chaos-Fault", kind)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if corrupt == CorruptTruncated {
		_, _ = w.Write([]byte(body[:len(body)/2]))
		_ = http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write([]byte(body))
}

// errorBody is the OpenAI-style error an inference API answers with status.
func errorBody(status int) string {
	typ, msg := "server_error", http.StatusText(status)
	switch status {
	case http.StatusTooManyRequests:
		typ, msg = "rate_limit_exceeded", "Rate limit reached: server busy, please retry later"
	case http.StatusServiceUnavailable:
		typ, msg = "overloaded_error", "The server is overloaded or not ready yet"
	case http.StatusInternalServerError:
		msg = "The server had an error while processing your request"
	}
	return fmt.Sprintf(`{"error":{"message":%q,"type":%q,"code":%d,"injected_by":"chaos"}}`, msg, typ, status)
}

type httpErrorParams struct {
	Common
	Status     int            `json:"status"`
	RetryAfter units.Duration `json:"retry_after"`
	Body       string         `json:"body"`
	Corrupt    string         `json:"corrupt"`
}

func (p *httpErrorParams) check() error {
	switch p.Corrupt {
	case CorruptNone, CorruptMalformed, CorruptTruncated:
	default:
		return fmt.Errorf("corrupt %q is not valid (valid: malformed, truncated)", p.Corrupt)
	}
	if p.Status == 0 {
		p.Status = http.StatusServiceUnavailable
	}
	lo := 400
	if p.Corrupt != CorruptNone {
		lo = 200
	}
	if p.Status < lo || p.Status > 599 {
		return fmt.Errorf("status %d is out of range (valid: %d to 599)", p.Status, lo)
	}
	return nil
}

func httpError(p []byte, b base) (Fault, error) {
	var v httpErrorParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	return &HTTPError{base: b, Status: v.Status, RetryAfter: v.RetryAfter.D(), Body: v.Body, Corrupt: v.Corrupt}, nil
}

// FailFirst fails the first Count matching requests with Status, then lets
// every later one pass: enough to prove that a client or gateway retries.
type FailFirst struct {
	base
	Count      int64
	Status     int
	RetryAfter time.Duration
	Corrupt    string
	seen       atomic.Int64
	wire       canned
}

var (
	_ Fault     = (*FailFirst)(nil)
	_ loopFault = (*FailFirst)(nil)
)

// decide implements loopFault: the loop answers.
func (f *FailFirst) decide(rq *rawRequest, v *verdict) bool {
	if !f.Match.okRaw(rq) || f.seen.Add(1) > f.Count {
		return false
	}
	if f.hits != nil {
		f.hits.Add(1)
	}
	v.answer = f.wire.get(f.Status, f.RetryAfter, "", f.Corrupt, "fail-first", rq.isHead)
	v.cut = f.Corrupt == CorruptTruncated
	return true
}

// ServeHTTP implements Fault.
func (f *FailFirst) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !f.Match.OK(r) || f.seen.Add(1) > f.Count {
		next.ServeHTTP(w, r)
		return
	}
	if f.hits != nil {
		f.hits.Add(1)
	}
	writeInjected(w, f.Status, f.RetryAfter, "", f.Corrupt, "fail-first")
}

func httpFailFirst(p []byte, b base) (Fault, error) {
	var v struct {
		httpErrorParams
		Count int64 `json:"count"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	if v.Count < 1 {
		return nil, fmt.Errorf("count %d is too few (valid: 1 or more)", v.Count)
	}
	if v.Share != nil {
		return nil, fmt.Errorf("share does not apply to fail-first (it fails exactly the first count requests)")
	}
	return &FailFirst{base: b, Count: v.Count, Status: v.Status, RetryAfter: v.RetryAfter.D(), Corrupt: v.Corrupt}, nil
}
