package proxy

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Limits of the control API: a route holds at most MaxFaults faults, an id
// is at most MaxIDLen characters of [A-Za-z0-9._-], a request body at most
// MaxBody bytes. They bound what a caller can make the proxy hold and echo.
const (
	MaxFaults = 64
	MaxIDLen  = 128
	MaxBody   = 1 << 20
)

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// API is the control API of the routes running in this process: list
// routes, list / add / remove faults, health and Prometheus metrics. Every
// answer is JSON (metrics are Prometheus text). With a Token, every call
// but /healthz must carry it as "Authorization: Bearer TOKEN". With or
// without one, every call passes guard first: no cross-origin browser
// request, no foreign Host, no body that is not JSON.
type API struct {
	Token string
	// Listen is the address the API is bound to (host:port as bound); a
	// Host header equal to it is accepted. "" accepts loopback names only.
	Listen string
	// AllowHosts are more names (host or host:port) a client may use in
	// Host, e.g. a compose service name.
	AllowHosts []string

	mux   *http.ServeMux
	addMu sync.Mutex // one add at a time, so MaxFaults holds
}

// NewAPI builds the control API; token "" means no token is asked for.
func NewAPI(token string) *API {
	a := &API{Token: token, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /healthz", a.health)
	a.mux.HandleFunc("GET /metrics", a.auth(a.metrics))
	a.mux.HandleFunc("GET /kinds", a.auth(a.kinds))
	a.mux.HandleFunc("GET /routes", a.auth(a.routes))
	a.mux.HandleFunc("GET /routes/{route}/faults", a.auth(a.listFaults))
	a.mux.HandleFunc("POST /routes/{route}/faults", a.auth(a.addFault))
	a.mux.HandleFunc("DELETE /routes/{route}/faults/{id}", a.auth(a.removeFault))
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such endpoint %s %s (valid: GET /healthz, /metrics, /kinds, /routes, /routes/{route}/faults; POST /routes/{route}/faults; DELETE /routes/{route}/faults/{id})", r.Method, r.URL.Path)
	})
	return a
}

// CheckBind refuses a control API bound beyond loopback without a token.
func CheckBind(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("control API address %q is not host:port", addr)
	}
	if token != "" {
		return nil
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("control API on %s is reachable beyond loopback: a token is required (--token or CHAOS_PROXY_TOKEN), or bind it to 127.0.0.1", addr)
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.guard(w, r) {
		a.mux.ServeHTTP(w, r)
	}
}

func (a *API) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			switch {
			case !ok || got == "":
				w.Header().Set("WWW-Authenticate", `Bearer realm="chaos proxy"`)
				writeJSONError(w, http.StatusUnauthorized, "missing token: send Authorization: Bearer TOKEN")
				return
			case subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1:
				writeJSONError(w, http.StatusForbidden, "wrong token")
				return
			}
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func (a *API) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "routes": len(Routes())})
}

func (a *API) kinds(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string][]string{"http": Kinds(ModeHTTP), "tcp": Kinds(ModeTCP)})
}

// RouteInfo describes a route for the API.
type RouteInfo struct {
	Name     string      `json:"name"`
	Listen   string      `json:"listen"`
	Upstream string      `json:"upstream"`
	Mode     Mode        `json:"mode"`
	Faults   []FaultInfo `json:"faults"`
}

// Info describes the route.
func (rt *Route) Info() RouteInfo {
	return RouteInfo{Name: rt.name, Listen: rt.Addr(), Upstream: rt.upstream, Mode: rt.mode, Faults: rt.FaultInfos()}
}

func (a *API) routes(w http.ResponseWriter, _ *http.Request) {
	out := []RouteInfo{}
	for _, rt := range Routes() {
		out = append(out, rt.Info())
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) route(w http.ResponseWriter, r *http.Request) (*Route, bool) {
	name := r.PathValue("route")
	rt, ok := Lookup(name)
	if !ok {
		var names []string
		for _, x := range Routes() {
			names = append(names, x.name)
		}
		writeJSONError(w, http.StatusNotFound, "no route %q (valid: %s)", name, strings.Join(names, ", "))
	}
	return rt, ok
}

func (a *API) listFaults(w http.ResponseWriter, r *http.Request) {
	if rt, ok := a.route(w, r); ok {
		writeJSON(w, http.StatusOK, rt.FaultInfos())
	}
}

// AddRequest is the body of POST /routes/{route}/faults: a Spec and, if the
// caller wants to name it before it exists (a journal does), an id.
type AddRequest struct {
	ID string `json:"id,omitempty"`
	Spec
}

func (a *API) addFault(w http.ResponseWriter, r *http.Request) {
	rt, ok := a.route(w, r)
	if !ok {
		return
	}
	var req AddRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if req.ID != "" && !validID(w, req.ID) {
		return
	}
	if req.Kind == "" {
		writeJSONError(w, http.StatusBadRequest, "kind is missing (valid: %s)", strings.Join(Kinds(rt.mode), ", "))
		return
	}
	a.addMu.Lock()
	defer a.addMu.Unlock()
	if n := len(rt.Faults()); n >= MaxFaults {
		writeJSONError(w, http.StatusConflict, "route %s already holds %d faults, the most a route holds (valid: remove one first, DELETE /routes/%s/faults/{id})", rt.name, n, rt.name)
		return
	}
	id, err := rt.AddID(req.ID, req.Spec)
	if err != nil {
		status := http.StatusBadRequest
		if strings.Contains(err.Error(), "already installed") {
			status = http.StatusConflict
		}
		writeJSONError(w, status, "%v", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
}

func (a *API) removeFault(w http.ResponseWriter, r *http.Request) {
	rt, ok := a.route(w, r)
	if !ok {
		return
	}
	removed, err := rt.remove(r.PathValue("id"))
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "removed": removed})
}

// decodeBody decodes exactly one JSON value of at most MaxBody bytes into v,
// refusing unknown fields and anything after the value; on failure it
// writes the 4xx answer and reports false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if err2 := dec.Decode(&json.RawMessage{}); err2 != io.EOF {
			err = fmt.Errorf("trailing data after the JSON value")
			if err2 != nil && !isSyntax(err2) {
				err = err2
			}
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeJSONError(w, http.StatusRequestEntityTooLarge, "body is larger than %d bytes", tooBig.Limit)
	default:
		writeJSONError(w, http.StatusBadRequest, "bad JSON: %v (valid: one object, e.g. {\"kind\": \"latency\", \"params\": {\"delay\": \"200ms\"}})", err)
	}
	return false
}

func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
}

// validID checks a fault id chosen by a caller; on failure it writes the
// 400. Ids the proxy picks (ROUTE/N) may hold any character of the route
// name, so DELETE takes any id.
func validID(w http.ResponseWriter, id string) bool {
	if len(id) > MaxIDLen || !idRE.MatchString(id) {
		shown := id
		if len(shown) > 32 {
			shown = shown[:32] + "…"
		}
		writeJSONError(w, http.StatusBadRequest, "fault id %q is not valid (valid: 1 to %d characters of A-Z a-z 0-9 . _ -; %d given)", shown, MaxIDLen, len(id))
		return false
	}
	return true
}

// metrics writes the proxy's own Prometheus metrics.
func (a *API) metrics(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	type m struct {
		name, help, typ string
		v               func(*Route) int64
	}
	ms := []m{
		{"chaos_proxy_requests_total", "HTTP requests received (http routes)", "counter", func(rt *Route) int64 { return rt.requests.Load() }},
		{"chaos_proxy_chain_requests_total", "HTTP requests served through the fault chain, off the event loop (http routes)", "counter", func(rt *Route) int64 { return rt.chained.Load() }},
		{"chaos_proxy_loop_returns_total", "HTTP connections given back to the event loop after a request the fault chain served (http routes)", "counter", func(rt *Route) int64 { return rt.returns.Load() }},
		{"chaos_proxy_connections_total", "connections accepted (tcp routes)", "counter", func(rt *Route) int64 { return rt.accepted.Load() }},
		{"chaos_proxy_active_connections", "connections open now (tcp routes)", "gauge", func(rt *Route) int64 { return rt.active.Load() }},
		{"chaos_proxy_upstream_errors_total", "failures to reach the upstream", "counter", func(rt *Route) int64 { return rt.upstreamKO.Load() }},
		{"chaos_proxy_faults", "faults installed now", "gauge", func(rt *Route) int64 { return int64(len(*rt.installed.Load())) }},
	}
	rts := Routes()
	for _, x := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", x.name, x.help, x.name, x.typ)
		for _, rt := range rts {
			fmt.Fprintf(&b, "%s{route=%s} %d\n", x.name, strconv.Quote(rt.name), x.v(rt))
		}
	}
	b.WriteString("# HELP chaos_proxy_fault_hits_total requests or connections a fault acted on\n# TYPE chaos_proxy_fault_hits_total counter\n")
	for _, rt := range rts {
		for _, f := range rt.FaultInfos() {
			fmt.Fprintf(&b, "chaos_proxy_fault_hits_total{route=%s,kind=%s,id=%s} %d\n", strconv.Quote(rt.name), strconv.Quote(f.Spec.Kind), strconv.Quote(f.ID), f.Hits)
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = io.WriteString(w, b.String())
}

// errAPI is an answer of the control API that is not a success.
type errAPI struct {
	Status int
	Msg    string
}

func (e *errAPI) Error() string { return fmt.Sprintf("control API answered %d: %s", e.Status, e.Msg) }
