package proxy

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/chaos-sre/chaos/internal/units"
)

// HTTPHeader drops or sets one header of the requests to the target (side:
// request, before they go upstream) or of its answers (side: response,
// before the client sees them): a gateway that loses X-Priority, a model
// whose answers lose their Content-Type or carry a wrong one.
type HTTPHeader struct {
	Side  string `yaml:"side,omitempty" json:"side,omitempty" jsonschema:"enum=request,enum=response,default=request,description=request: what the target receives; response: what its clients receive"`
	Name  string `yaml:"name" json:"name" jsonschema:"description=the header e.g. X-Priority (any case),default=X-Priority"`
	Set   string `yaml:"set,omitempty" json:"set,omitempty" jsonschema:"description=the value it gets (replacing or adding it)"`
	Drop  bool   `yaml:"drop,omitempty" json:"drop,omitempty" jsonschema:"description=remove the header instead"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
}

// HTTPHeaderKind is the http-header kind.
var HTTPHeaderKind = Kind[HTTPHeader]{
	Name:    "http-header",
	Summary: "drop or set a header of the requests to the target or of its answers in the fault proxy in front of it",
	New:     func() *HTTPHeader { return &HTTPHeader{Side: "request", Name: "X-Priority", Drop: true, Share: All} },
}

var _ httpKind = (*HTTPHeader)(nil)

// Validate implements Params.
func (h *HTTPHeader) Validate() []units.Problem {
	var ps []units.Problem
	if err := h.check(); err != nil {
		ps = append(ps, *err)
	}
	return append(ps, h.Share.validate()...)
}

func (h *HTTPHeader) check() *units.Problem {
	var p units.Problem
	switch {
	case h.Side != "" && h.Side != "request" && h.Side != "response":
		p = units.Problemf("side", "%q is not a side (valid: request, response)", h.Side)
	case !validHeaderName(h.Name):
		p = units.Problemf("name", "%q is not a header name (valid: e.g. X-Priority)", h.Name)
	case h.Drop == (h.Set != ""):
		p = units.Problemf("set", "give a value to set or drop: true, one of the two")
	case h.Set != "" && strings.ContainsAny(h.Set, "\r\n\x00"):
		p = units.Problemf("set", "%q is not a header value (valid: printable text, no line breaks)", h.Set)
	case http.CanonicalHeaderKey(h.Name) == "Host" && h.Side != "response":
		p = units.Problemf("name", "Host cannot be changed on the way upstream (valid: any other header)")
	default:
		return nil
	}
	return &p
}

func (h *HTTPHeader) http(_ Common, b base) (Fault, error) {
	if p := h.check(); p != nil {
		return nil, fmt.Errorf("%s: %s", p.Field, p.Msg)
	}
	return &httpHeaderFault{base: b, response: h.Side == "response", name: http.CanonicalHeaderKey(h.Name), set: h.Set, drop: h.Drop}, nil
}

// validHeaderName reports whether s is an HTTP field name (RFC 9110 token).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// httpHeaderFault changes one header of the requests it matches, or of
// their answers as they start.
type httpHeaderFault struct {
	base
	response  bool
	name, set string
	drop      bool
}

func (f *httpHeaderFault) change(h http.Header) {
	if f.drop {
		h.Del(f.name)
		return
	}
	h.Set(f.name, f.set)
}

// ServeHTTP implements Fault.
func (f *httpHeaderFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !f.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	if !f.response {
		f.change(r.Header)
		next.ServeHTTP(w, r)
		return
	}
	next.ServeHTTP(&headerWriter{ResponseWriter: w, change: f.change}, r)
}

// headerWriter changes the answer's headers just before they go out.
type headerWriter struct {
	http.ResponseWriter
	change func(http.Header)
	sent   bool
}

func (h *headerWriter) WriteHeader(code int) {
	if !h.sent && code >= 200 {
		h.sent = true
		h.change(h.Header())
	}
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerWriter) Write(b []byte) (int, error) {
	if !h.sent {
		h.WriteHeader(http.StatusOK)
	}
	return h.ResponseWriter.Write(b)
}

// Flush implements http.Flusher.
func (h *headerWriter) Flush() {
	if !h.sent {
		h.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(h.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (h *headerWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }
