package proxy

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// The http event loop decides faults itself, per request, from the raw
// request head (httploop_linux.go): a kind that only delays or answers in
// the proxy's name implements loopFault and never costs the request a
// goroutine, a timer or a net/http round. A kind without it (the stream
// kinds, which rewrite an answer as it streams, or a caller's own Fault)
// sends the requests it matches through the fault chain, one request at a
// time.

// loopFault is a Fault the event loop serves from a request's raw head.
type loopFault interface {
	// decide acts on one request: it adds to v what the loop should do and
	// reports whether the chain ends with it (an answer in the proxy's name).
	decide(rq *rawRequest, v *verdict) bool
}

// matcher is a Fault that acts only on the requests its Match selects: the
// loop looks at the match before it sends a request to the fault chain.
type matcher interface{ matches() *Match }

func (b *base) matches() *Match { return &b.Match }

// verdict is what the installed faults make of one request.
type verdict struct {
	delay  time.Duration // hold the request this long before it goes upstream
	ttfb   time.Duration // hold the answer's first byte this long after it came
	answer []byte        // the proxy answers with these bytes; nothing goes upstream
	cut    bool          // close the connection once the answer is out (a truncated body)
	slow   bool          // a fault the loop cannot serve matches: the fault chain serves it
}

// decideRaw runs a request's raw head through the installed faults, in the
// order they were added. A matching fault the loop cannot serve sends the
// request to the chain before any fault draws its chance, so no draw is
// made twice.
func decideRaw(list []*installed, rq *rawRequest) verdict {
	var v verdict
	if !rq.ok {
		v.slow = true
		return v
	}
	for _, in := range list {
		if in.loop != nil {
			continue
		}
		if m, ok := in.http.(matcher); !ok || m.matches().okRaw(rq) {
			v.slow = true
			return v
		}
	}
	for _, in := range list {
		if in.loop != nil && in.loop.decide(rq, &v) { // nil: a chain fault that does not match
			break
		}
	}
	return v
}

// rawRequest is a request head as the loop has it: no parsing beyond
// what a Match needs.
type rawRequest struct {
	method []byte
	path   []byte // the request target's path, unescaped, without the query
	head   []byte // the whole head, for header lookups
	isHead bool
	ok     bool // the target is origin-form ("/…") and its path unescapes
}

func newRawRequest(head []byte) rawRequest {
	rq := rawRequest{head: head}
	line, _, _ := bytes.Cut(head, []byte("\r\n"))
	m, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, _, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || len(target) == 0 || target[0] != '/' {
		return rq
	}
	rq.method = m
	rq.isHead = string(m) == http.MethodHead
	rq.path, _, _ = bytes.Cut(target, []byte("?"))
	if bytes.IndexByte(rq.path, '%') >= 0 {
		p, err := url.PathUnescape(string(rq.path))
		if err != nil {
			return rq
		}
		rq.path = []byte(p)
	}
	rq.ok = true
	return rq
}

// header is the first value of the header named name (any case), trimmed,
// as http.Header.Get has it.
func (rq *rawRequest) header(name string) ([]byte, bool) {
	h := rq.head
	if i := bytes.Index(h, []byte("\r\n")); i >= 0 {
		h = h[i+2:]
	}
	for len(h) > 0 {
		line := h
		if i := bytes.Index(h, []byte("\r\n")); i >= 0 {
			line, h = h[:i], h[i+2:]
		} else {
			h = nil
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && foldEq(k, name) {
			return bytes.TrimSpace(v), true
		}
	}
	return nil, false
}

// foldEq compares ASCII case-insensitively.
func foldEq(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// okRaw is OK for a raw request head.
func (m *Match) okRaw(rq *rawRequest) bool {
	if m.Path != "" && !bytes.HasPrefix(rq.path, []byte(m.Path)) {
		return false
	}
	if m.Method != "" && string(rq.method) != m.Method {
		return false
	}
	for k, v := range m.Headers {
		got, _ := rq.header(k)
		if string(got) != v {
			return false
		}
	}
	return true
}

// appliesRaw is applies for a raw request head.
func (b *base) appliesRaw(rq *rawRequest) bool {
	if !b.Match.okRaw(rq) || !b.Chance.Hit() {
		return false
	}
	if b.hits != nil {
		b.hits.Add(1)
	}
	return true
}

// canned is an injected answer as bytes on the wire, built once: the same
// status line, headers and body writeInjected sends through net/http.
type canned struct {
	once       sync.Once
	full, head []byte // the answer to any request, and to a HEAD request
}

func (c *canned) get(status int, ra time.Duration, body, corrupt, kind string, isHead bool) []byte {
	c.once.Do(func() {
		if body == "" {
			body = errorBody(status)
		}
		if corrupt == CorruptMalformed {
			body = `{"id":"chatcmpl-chaos","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"chaos` + "\x00" + `"}]`
		}
		b := []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + http.StatusText(status) + "\r\n")
		if ra > 0 {
			b = append(b, "Retry-After: "+strconv.Itoa(int((ra+time.Second-1)/time.Second))+"\r\n"...)
		}
		b = append(b, "Content-Type: application/json\r\nX-Chaos-Fault: "+kind+"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"...)
		c.head = b
		if corrupt == CorruptTruncated {
			body = body[:len(body)/2]
		}
		c.full = append(b[:len(b):len(b)], body...)
	})
	if isHead {
		return c.head
	}
	return c.full
}
