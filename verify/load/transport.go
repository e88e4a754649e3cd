package load

import (
	"context"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// connCounter counts connections opened and the peak open at once.
type connCounter struct {
	open, dialed, peak atomic.Int64
}

// dial opens a connection through d and counts it until it is closed.
func (c *connCounter) dial(ctx context.Context, d *net.Dialer, network, addr string) (net.Conn, error) {
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c.dialed.Add(1)
	n := c.open.Add(1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	return &countedConn{Conn: conn, c: c}, nil
}

// countedConn decrements the open count once when closed.
type countedConn struct {
	net.Conn
	c    *connCounter
	once sync.Once
}

// Close closes the connection and uncounts it once.
func (cc *countedConn) Close() error {
	cc.once.Do(func() { cc.c.open.Add(-1) })
	return cc.Conn.Close()
}

// newTransport is the default transport: HTTP/1.1 keep-alive with at most
// cfg.Connections connections, no proxy from the environment, no compression.
func newTransport(cfg Config, c *connCounter) *http.Transport {
	d := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return c.dial(ctx, d, network, addr)
		},
		MaxConnsPerHost:     cfg.Connections,
		MaxIdleConns:        cfg.Connections,
		MaxIdleConnsPerHost: cfg.Connections,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: cfg.Timeout,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     8 << 10,
		ReadBufferSize:      16 << 10,
	}
}

// newFreshTransport is the transport of fresh-connection requests through
// net/http: no idle connections, so every request dials.
func newFreshTransport(cfg Config, c *connCounter) *http.Transport {
	t := newTransport(cfg, c)
	t.DisableKeepAlives = true
	t.MaxIdleConns, t.MaxIdleConnsPerHost, t.MaxConnsPerHost = 0, 0, 0
	return t
}

// connTrace records, for one request through net/http, whether it dialed,
// the TCP connect time or failure, and when the first byte of the answer
// came. Hooks of a dial that outlives the request write here too late to
// matter: into reads the state once, when the answer's head is in.
type connTrace struct {
	mu                  sync.Mutex
	dialed, failed      bool
	connStart, connDone time.Time
	firstByte           time.Time
}

// context adds the trace to ctx (composed with any trace already there).
func (t *connTrace) context(ctx context.Context) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		ConnectStart: func(string, string) {
			t.mu.Lock()
			t.dialed, t.connStart = true, time.Now()
			t.mu.Unlock()
		},
		ConnectDone: func(_, _ string, err error) {
			t.mu.Lock()
			t.connDone, t.failed = time.Now(), err != nil
			t.mu.Unlock()
		},
		GotFirstResponseByte: func() {
			t.mu.Lock()
			t.firstByte = time.Now()
			t.mu.Unlock()
		},
	})
}

// into copies what the trace saw into r; start is the timeline's zero.
func (t *connTrace) into(r *result, start time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.dialed {
		r.dialed = true
		switch {
		case t.failed || t.connDone.IsZero():
			r.connectFail = true
		default:
			r.connect = t.connDone.Sub(t.connStart)
		}
	}
	if !t.firstByte.IsZero() {
		r.ttfb = t.firstByte.Sub(start) - r.intended
	}
}
