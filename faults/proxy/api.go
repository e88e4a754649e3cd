package proxy

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// API is the control API of the routes running in this process: list
// routes, list / add / remove faults, health and Prometheus metrics. Every
// answer is JSON (metrics are Prometheus text). With a Token, every call
// but /healthz must carry it as "Authorization: Bearer TOKEN".
type API struct {
	Token string
	mux   *http.ServeMux
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
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeJSONError(w, http.StatusRequestEntityTooLarge, "reading the body: %v", err)
		return
	}
	var req AddRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "bad JSON: %v (valid: {\"kind\": \"latency\", \"params\": {\"delay\": \"200ms\"}})", err)
		return
	}
	if req.Kind == "" {
		writeJSONError(w, http.StatusBadRequest, "kind is missing (valid: %s)", strings.Join(Kinds(rt.mode), ", "))
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

// metrics writes the proxy's own Prometheus metrics.
func (a *API) metrics(w http.ResponseWriter, _ *http.Request) {
	var b strings.Builder
	type m struct {
		name, help, typ string
		v               func(*Route) int64
	}
	ms := []m{
		{"chaos_proxy_requests_total", "HTTP requests received (http routes)", "counter", func(rt *Route) int64 { return rt.requests.Load() }},
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
