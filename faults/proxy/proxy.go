// Package proxy is the in-process fault proxy: an HTTP-aware reverse proxy put
// in front of an upstream (a model replica) whose faults are decided per
// request, so they also hit keep-alive connections opened before the fault.
// Streaming answers (SSE) pass through event by event.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Fault acts on one request. It may answer itself (an injected error), delay,
// or call next to forward the request upstream.
type Fault interface {
	ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler)
}

// Route is one listener in front of one upstream.
type Route struct {
	name     string
	upstream string
	ln       net.Listener
	srv      *http.Server
	forward  http.Handler

	mu     sync.RWMutex
	faults map[string]Fault
	order  []string
	nextID atomic.Int64

	closeOnce sync.Once
	closeErr  error
}

var routes sync.Map // name → *Route, so journal undo can find live routes

// Listen starts a route named name on addr (host:0 for an ephemeral port)
// forwarding to upstream (host:port).
func Listen(name, addr, upstream string) (*Route, error) {
	u, err := url.Parse("http://" + upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("proxy %s: upstream %q is not host:port", name, upstream)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("proxy %s: listen on %s: %w", name, addr, err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	rp.Transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	}
	rp.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return
		}
		http.Error(w, "chaos proxy: upstream "+upstream+": "+err.Error(), http.StatusBadGateway)
	}
	rt := &Route{name: name, upstream: upstream, ln: ln, forward: rp, faults: map[string]Fault{}}
	rt.srv = &http.Server{Handler: rt, ReadHeaderTimeout: 10 * time.Second}
	routes.Store(name, rt)
	go func() { _ = rt.srv.Serve(ln) }()
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

// Name names the route.
func (rt *Route) Name() string { return rt.name }

// Addr is the address the route listens on.
func (rt *Route) Addr() string { return rt.ln.Addr().String() }

// Upstream is the address the route forwards to.
func (rt *Route) Upstream() string { return rt.upstream }

// Add installs a fault; it applies to every request that arrives after Add
// returns. f must be a Fault.
func (rt *Route) Add(f any) (string, error) {
	pf, ok := f.(Fault)
	if !ok {
		return "", fmt.Errorf("proxy %s: %T is not a proxy fault", rt.name, f)
	}
	id := rt.name + "/" + strconv.FormatInt(rt.nextID.Add(1), 10)
	rt.mu.Lock()
	rt.faults[id] = pf
	rt.order = append(rt.order, id)
	rt.mu.Unlock()
	return id, nil
}

// Remove uninstalls a fault; an unknown id is not an error.
func (rt *Route) Remove(id string) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	delete(rt.faults, id)
	for i, o := range rt.order {
		if o == id {
			rt.order = append(rt.order[:i:i], rt.order[i+1:]...)
			break
		}
	}
	return nil
}

// Faults lists the ids of the installed faults, sorted.
func (rt *Route) Faults() []string {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	ids := append([]string(nil), rt.order...)
	sort.Strings(ids)
	return ids
}

// ServeHTTP runs the request through the installed faults, in the order they
// were added, then forwards it.
func (rt *Route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt.mu.RLock()
	chain := make([]Fault, 0, len(rt.order))
	for _, id := range rt.order {
		chain = append(chain, rt.faults[id])
	}
	rt.mu.RUnlock()
	var h http.Handler = rt.forward
	for i := len(chain) - 1; i >= 0; i-- {
		f, next := chain[i], h
		h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.ServeHTTP(w, r, next) })
	}
	h.ServeHTTP(w, r)
}

// Close stops the listener and every connection; faults go with it.
func (rt *Route) Close() error {
	rt.closeOnce.Do(func() {
		routes.Delete(rt.name)
		rt.closeErr = rt.srv.Close()
	})
	return rt.closeErr
}
