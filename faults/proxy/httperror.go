package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Corrupt modes of an injected answer's body.
const (
	CorruptNone      = ""
	CorruptMalformed = "malformed" // the body is not valid JSON; the connection stays usable
	CorruptTruncated = "truncated" // Content-Length promises more; the connection closes mid-body
)

// HTTPError makes the fault proxy in front of the target answer a share of
// requests itself with an error status — the 503 "overloaded" / 429 "server
// busy" an inference API returns — with an optional Retry-After, or with a
// malformed or truncated JSON body.
type HTTPError struct {
	Status     int            `yaml:"status,omitempty" json:"status,omitempty" jsonschema:"default=503,minimum=200,maximum=599,description=400-599; 200-599 with corrupt"`
	RetryAfter units.Duration `yaml:"retry_after,omitempty" json:"retry_after,omitempty" jsonschema:"description=sent as Retry-After seconds; 0 sends none,default=1s"`
	Body       string         `yaml:"body,omitempty" json:"body,omitempty" jsonschema:"description=answer body; default an OpenAI-style error JSON"`
	Corrupt    string         `yaml:"corrupt,omitempty" json:"corrupt,omitempty" jsonschema:"enum=malformed,enum=truncated,description=malformed: the body is not JSON; truncated: the connection closes mid-body"`
	Share      `yaml:",inline"`
	Match      `yaml:",inline"`
}

// HTTPErrorKind is the http-error kind.
var HTTPErrorKind = Kind[HTTPError]{
	Name:    "http-error",
	Summary: "answer a share of requests to the target with an error status (503, 429 …) and Retry-After",
	New:     func() *HTTPError { return &HTTPError{Status: 503, Share: All, RetryAfter: units.Duration(time.Second)} },
}

var _ httpKind = (*HTTPError)(nil)

// Validate implements Params.
func (h *HTTPError) Validate() []units.Problem {
	ps := h.Share.validate()
	switch h.Corrupt {
	case "":
		if h.Status < 400 || h.Status > 599 {
			ps = append(ps, units.Problemf("status", "%d is not an error status (valid: 400 to 599, e.g. 429, 503; 200 to 599 with corrupt)", h.Status))
		}
	case CorruptMalformed, CorruptTruncated:
		if h.Status < 200 || h.Status > 599 {
			ps = append(ps, units.Problemf("status", "%d is out of range (valid: 200 to 599)", h.Status))
		}
	default:
		ps = append(ps, units.Problemf("corrupt", "%q is not valid (valid: malformed, truncated)", h.Corrupt))
	}
	return ps
}

func (h *HTTPError) http(_ Common, b base) (Fault, error) {
	status, err := checkAnswer(h.Status, h.Corrupt)
	if err != nil {
		return nil, err
	}
	return &httpErrorFault{base: b, Status: status, RetryAfter: h.RetryAfter.D(), Body: h.Body, Corrupt: h.Corrupt}, nil
}

// httpErrorFault answers a share of requests itself with Status (and
// Retry-After), the way an overloaded inference API does, without
// forwarding them. Corrupt makes the body malformed or truncated JSON.
type httpErrorFault struct {
	base
	Status     int
	RetryAfter time.Duration
	Body       string
	Corrupt    string
	wire       canned
}

var (
	_ Fault     = (*httpErrorFault)(nil)
	_ loopFault = (*httpErrorFault)(nil)
)

// decide implements loopFault: the loop answers.
func (e *httpErrorFault) decide(rq *rawRequest, v *verdict) bool {
	if !e.appliesRaw(rq) {
		return false
	}
	v.answer = e.wire.get(e.Status, e.RetryAfter, e.Body, e.Corrupt, "http-error", rq.isHead)
	v.cut = e.Corrupt == CorruptTruncated
	return true
}

// ServeHTTP implements Fault.
func (e *httpErrorFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
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

// checkAnswer checks an injected answer's status against its corrupt mode
// as a route takes them (0 is 503) and returns the status to send.
func checkAnswer(status int, corrupt string) (int, error) {
	switch corrupt {
	case CorruptNone, CorruptMalformed, CorruptTruncated:
	default:
		return 0, fmt.Errorf("corrupt %q is not valid (valid: malformed, truncated)", corrupt)
	}
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	lo := 400
	if corrupt != CorruptNone {
		lo = 200
	}
	if status < lo || status > 599 {
		return 0, fmt.Errorf("status %d is out of range (valid: %d to 599)", status, lo)
	}
	return status, nil
}
