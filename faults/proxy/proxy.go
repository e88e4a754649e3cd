// Package proxy is the fault proxy: a listener in front of an upstream (a
// model replica, a gateway) that injects faults without touching either side.
//
// A Route works in one of two modes. In http mode it is an HTTP-aware reverse
// proxy whose faults are decided per request, so they also hit keep-alive
// connections opened before the fault, and can match on path, method and
// header; streaming answers (SSE) pass through event by event. In tcp mode it
// relays bytes and its faults (Toxiproxy's vocabulary) are decided per
// connection, when the connection is accepted. Both modes move bytes on
// epoll event loops (relay_linux.go): tcp while no fault is installed, http
// always, relaying raw HTTP/1.1 request by request and serving the faults
// that delay or answer on the loop itself (httploop_linux.go, loopfault.go).
package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is how a route proxies: per request (http) or per connection (tcp).
type Mode string

// The route modes.
const (
	ModeHTTP Mode = "http"
	ModeTCP  Mode = "tcp"
)

// ParseMode reads "http" or "tcp" ("" is http).
func ParseMode(s string) (Mode, error) {
	switch s {
	case "", "http":
		return ModeHTTP, nil
	case "tcp":
		return ModeTCP, nil
	}
	return "", fmt.Errorf("mode %q is not a proxy mode (valid: http, tcp)", s)
}

// Fault acts on one request in http mode. It may answer itself (an injected
// error), delay, wrap the response writer, or call next to forward.
type Fault interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler)
}

// Options configure a route.
type Options struct {
	Name     string // unique in the process; names the route in the API and reports
	Listen   string // host:port; host:0 picks a free port
	Upstream string // host:port
	Mode     Mode   // http (default) or tcp
}

// Route is one listener in front of one upstream.
type Route struct {
	name     string
	upstream string
	mode     Mode
	ln       net.Listener
	srv      *http.Server
	forward  http.Handler

	mu        sync.Mutex                   // serialises Add/Remove
	installed atomic.Pointer[[]*installed] // copy-on-write: readers never lock
	nextID    atomic.Int64

	conns      sync.Map // io.Closer (a net.Conn, a relayed pair) → struct{}, closed by Close
	requests   atomic.Int64
	chained    atomic.Int64 // http requests the fault chain served
	lent       atomic.Int64 // http requests the event loop lent to the fault chain
	returns    atomic.Int64 // connections given back to the event loop after a lent request
	accepted   atomic.Int64
	active     atomic.Int64
	upstreamKO atomic.Int64

	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
}

// installed is one fault on a route.
type installed struct {
	id      string
	spec    Spec
	http    Fault
	conn    ConnFault
	loop    loopFault     // http: the event loop serves it (nil: the fault chain does)
	removed chan struct{} // closed when the fault is removed
	hits    atomic.Int64
}

var routes sync.Map // name → *Route, so journal undo and the API find live routes

// Listen starts an http-mode route named name on addr forwarding to upstream.
func Listen(name, addr, upstream string) (*Route, error) {
	return Start(Options{Name: name, Listen: addr, Upstream: upstream, Mode: ModeHTTP})
}

// Start starts a route. A listen address in use, a bad upstream or a name
// already taken is an error, and nothing is left listening.
func Start(o Options) (*Route, error) {
	if o.Mode == "" {
		o.Mode = ModeHTTP
	}
	if _, err := ParseMode(string(o.Mode)); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", o.Name, err)
	}
	host, port, err := net.SplitHostPort(o.Upstream)
	if err != nil || port == "" {
		return nil, fmt.Errorf("proxy %s: upstream %q is not host:port", o.Name, o.Upstream)
	}
	if _, ok := routes.Load(o.Name); ok {
		return nil, fmt.Errorf("proxy %s: a route of that name is already running", o.Name)
	}
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: listen on %s: %w", o.Name, o.Listen, err)
	}
	rt := &Route{name: o.Name, upstream: o.Upstream, mode: o.Mode, ln: ln, done: make(chan struct{})}
	rt.installed.Store(&[]*installed{})
	if _, loaded := routes.LoadOrStore(o.Name, rt); loaded {
		_ = ln.Close()
		return nil, fmt.Errorf("proxy %s: a route of that name is already running", o.Name)
	}
	switch o.Mode {
	case ModeTCP:
		go rt.serveTCP()
	default:
		rt.forward = newForwarder(rt, &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)})
		rt.srv = &http.Server{Handler: rt, ReadHeaderTimeout: 30 * time.Second}
		h := &handoff{ch: make(chan net.Conn), addr: ln.Addr(), closed: make(chan struct{})}
		go func() { _ = rt.srv.Serve(h) }()
		go rt.serveFast(h)
	}
	return rt, nil
}

// Lookup returns the live route named name in this process.
func Lookup(name string) (*Route, bool) {
	v, ok := routes.Load(name)
	if !ok {
		return nil, false
	}
	return v.(*Route), true
}

// Routes lists the live routes of this process, by name.
func Routes() []*Route {
	var out []*Route
	routes.Range(func(_, v any) bool { out = append(out, v.(*Route)); return true })
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Name names the route.
func (rt *Route) Name() string { return rt.name }

// Addr is the address the route listens on.
func (rt *Route) Addr() string { return rt.ln.Addr().String() }

// Upstream is the address the route forwards to.
func (rt *Route) Upstream() string { return rt.upstream }

// Mode is the route's mode.
func (rt *Route) Mode() Mode { return rt.mode }

// Add installs a fault and returns its id: a Spec (built here, checked
// against the route's mode), or an already built Fault (http) or ConnFault
// (tcp). It applies to every request (http) or connection (tcp) that arrives
// after Add returns.
func (rt *Route) Add(f any) (string, error) {
	return rt.AddID("", f)
}

// AddID is Add with an id chosen by the caller (so a journal can name the
// fault before it exists); "" picks one. An id in use is an error.
func (rt *Route) AddID(id string, f any) (string, error) {
	in := &installed{removed: make(chan struct{})}
	switch v := f.(type) {
	case Spec:
		if err := rt.build(in, v); err != nil {
			return "", err
		}
	case *Spec:
		if err := rt.build(in, *v); err != nil {
			return "", err
		}
	case ConnFault:
		if rt.mode != ModeTCP {
			return "", fmt.Errorf("proxy %s: %T is an L4 fault and the route is in %s mode (valid: a tcp route)", rt.name, f, rt.mode)
		}
		in.conn, in.spec.Kind = v, fmt.Sprintf("%T", v)
	case Fault:
		if rt.mode != ModeHTTP {
			return "", fmt.Errorf("proxy %s: %T is an HTTP fault and the route is in %s mode (valid: an http route)", rt.name, f, rt.mode)
		}
		in.http, in.spec.Kind = v, fmt.Sprintf("%T", v)
	default:
		return "", fmt.Errorf("proxy %s: %T is not a proxy fault", rt.name, f)
	}
	in.loop, _ = in.http.(loopFault)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	cur := *rt.installed.Load()
	if id == "" {
		id = rt.name + "/" + strconv.FormatInt(rt.nextID.Add(1), 10)
	}
	if slices.ContainsFunc(cur, func(x *installed) bool { return x.id == id }) {
		return "", fmt.Errorf("proxy %s: fault id %q is already installed", rt.name, id)
	}
	in.id = id
	next := append(slices.Clip(cur), in)
	rt.installed.Store(&next)
	return id, nil
}

// Remove uninstalls a fault; an unknown id is not an error (rollback treats
// "already gone" as success). Connections a tcp fault is holding are let go.
func (rt *Route) Remove(id string) error {
	_, err := rt.remove(id)
	return err
}

func (rt *Route) remove(id string) (bool, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	cur := *rt.installed.Load()
	i := slices.IndexFunc(cur, func(x *installed) bool { return x.id == id })
	if i < 0 {
		return false, nil
	}
	close(cur[i].removed)
	next := slices.Delete(slices.Clone(cur), i, i+1)
	rt.installed.Store(&next)
	return true, nil
}

// Faults lists the ids of the installed faults, in the order they were added.
func (rt *Route) Faults() []string {
	cur := *rt.installed.Load()
	ids := make([]string, 0, len(cur))
	for _, in := range cur {
		ids = append(ids, in.id)
	}
	return ids
}

// FaultInfo describes one installed fault for the API.
type FaultInfo struct {
	ID   string `json:"id"`
	Spec Spec   `json:"spec"`
	Hits int64  `json:"hits"`
}

// FaultInfos describes the installed faults, in the order they were added.
func (rt *Route) FaultInfos() []FaultInfo {
	cur := *rt.installed.Load()
	out := make([]FaultInfo, 0, len(cur))
	for _, in := range cur {
		out = append(out, FaultInfo{ID: in.id, Spec: in.spec, Hits: in.hits.Load()})
	}
	return out
}

// ServeHTTP runs the request through the installed faults, in the order they
// were added, then forwards it. With no fault it forwards at once.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// A proxy is full duplex: the request body streams upstream while the
	// answer comes back. Without this the server, on the answer's head,
	// reads what is left of the body and closes it; when the upstream
	// answered the moment it had every byte, the forwarder's next read of
	// the body (to see its end) fails and the upstream connection is
	// closed mid-answer (an unexpected EOF at the client).
	_ = http.NewResponseController(w).EnableFullDuplex()
	rt.requests.Add(1)
	rt.chained.Add(1)
	cur := *rt.installed.Load()
	if len(cur) == 0 {
		rt.forward.ServeHTTP(w, r)
		return
	}
	(&step{list: cur, final: rt.forward}).ServeHTTP(w, r)
}

// step is the rest of a fault chain as an http.Handler.
type step struct {
	list  []*installed
	final http.Handler
}

func (s *step) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if len(s.list) == 0 {
		s.final.ServeHTTP(w, r)
		return
	}
	in := s.list[0]
	in.http.ServeHTTP(w, r, &step{list: s.list[1:], final: s.final})
}

// Close stops the listener and every connection; faults go with it.
func (rt *Route) Close() error {
	rt.closeOnce.Do(func() {
		routes.Delete(rt.name)
		close(rt.done)
		rt.closeErr = rt.ln.Close()
		if rt.srv != nil {
			_ = rt.srv.Close()
		}
		rt.conns.Range(func(k, _ any) bool { _ = k.(io.Closer).Close(); return true })
		if errors.Is(rt.closeErr, net.ErrClosed) {
			rt.closeErr = nil
		}
	})
	return rt.closeErr
}
