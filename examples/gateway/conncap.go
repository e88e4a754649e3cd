package gateway

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// ConnLimits is the gateway's client connection model, as HAProxy's
// maxconn: Max slots, one per open client connection. Past Max a new
// connection is accepted by the kernel but not served (its request waits
// unanswered) until a slot frees, so idle connections can exhaust the
// gateway for new clients while pooled keep-alive clients notice nothing.
// HeadTimeout and QueueTimeout are the protections of a well-configured
// gateway (HAProxy's timeout http-request / http-keep-alive and timeout
// queue); NoTimeout (variant no-conn-timeout) removes both.
type ConnLimits struct {
	Max          int           // client connection slots; 0 = no cap
	HeadTimeout  time.Duration // close a connection that sends no complete request head this long after it opens or goes idle
	QueueTimeout time.Duration // answer 503 to a request that waited this long for a slot
	NoTimeout    bool          // variant no-conn-timeout: no head timeout, no queue timeout
}

func defaultConnLimits() ConnLimits {
	return ConnLimits{HeadTimeout: time.Second, QueueTimeout: 2 * time.Second}
}

func (l ConnLimits) validate() error {
	if l.Max < 0 || l.HeadTimeout < 0 || l.QueueTimeout < 0 {
		return fmt.Errorf("max-conns must be 0 (no cap) or more, conn-head-timeout and conn-queue-timeout 0 (none) or more")
	}
	return nil
}

func (l *ConnLimits) flags(fs *flag.FlagSet) {
	fs.IntVar(&l.Max, "max-conns", l.Max, "client connection slots (as HAProxy's maxconn); past them new connections wait unanswered (0: no cap)")
	fs.DurationVar(&l.HeadTimeout, "conn-head-timeout", l.HeadTimeout, "with --max-conns: close a connection that sends no complete request head for this long (0: never)")
	fs.DurationVar(&l.QueueTimeout, "conn-queue-timeout", l.QueueTimeout, "with --max-conns: answer 503 to a request that waited this long for a slot (0: never)")
}

// maxQueuedBody bounds what a waiting request's body is read into; the
// gateway itself refuses more than 4 MiB.
const maxQueuedBody = 4 << 20

// connCap puts next behind the slots of ConnLimits. cli.Serve wires its
// ConnState to the http.Server; a request finds its connection by the
// client's address (the newest connection from it: an address is reused
// only once its connection is closed).
type connCap struct {
	next      http.Handler
	max       int
	head, que time.Duration

	mu     sync.Mutex
	conns  map[net.Conn]*capConn
	byAddr map[string]*capConn // the newest connection from each client address
	queue  []*capConn          // waiting for a slot, oldest first (the accept backlog)
	used   int
}

// capConn is one client connection: its slot, and the head timer's
// generation (a state change makes a pending timer stale).
type capConn struct {
	c       net.Conn
	addr    string
	slot    bool
	granted chan struct{} // closed when it gets a slot
	gen     int
	timer   *time.Timer
}

// withConnCap returns h itself when l sets no cap.
func withConnCap(h http.Handler, l ConnLimits) http.Handler {
	if l.Max <= 0 {
		return h
	}
	cc := &connCap{next: h, max: l.Max, head: l.HeadTimeout, que: l.QueueTimeout, conns: map[net.Conn]*capConn{}, byAddr: map[string]*capConn{}}
	if l.NoTimeout {
		cc.head, cc.que = 0, 0
	}
	return cc
}

// ConnState gives a new connection a slot or a place in the queue, arms the
// head timer while a connection has no request under way, and frees the
// slot of a closed connection for the oldest waiting one.
func (cc *connCap) ConnState(c net.Conn, st http.ConnState) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	k := cc.conns[c]
	if st == http.StateNew {
		k = &capConn{c: c, addr: c.RemoteAddr().String(), granted: make(chan struct{})}
		cc.conns[c], cc.byAddr[k.addr] = k, k
		if cc.used < cc.max {
			cc.grantLocked(k)
		} else {
			cc.queue = append(cc.queue, k)
		}
	}
	if k == nil {
		return
	}
	k.gen++
	if k.timer != nil {
		k.timer.Stop()
		k.timer = nil
	}
	switch st {
	case http.StateNew, http.StateIdle:
		if cc.head > 0 {
			gen := k.gen
			k.timer = time.AfterFunc(cc.head, func() { cc.reap(k, gen) })
		}
	case http.StateClosed, http.StateHijacked:
		delete(cc.conns, c)
		if cc.byAddr[k.addr] == k {
			delete(cc.byAddr, k.addr)
		}
		if !k.slot {
			for i, q := range cc.queue {
				if q == k {
					cc.queue = append(cc.queue[:i], cc.queue[i+1:]...)
					break
				}
			}
			return
		}
		cc.used--
		if len(cc.queue) > 0 {
			next := cc.queue[0]
			cc.queue = cc.queue[1:]
			cc.grantLocked(next)
		}
	}
}

// hasSlot is true once k holds a slot.
func (k *capConn) hasSlot() bool {
	select {
	case <-k.granted:
		return true
	default:
		return false
	}
}

func (cc *connCap) grantLocked(k *capConn) {
	k.slot = true
	cc.used++
	close(k.granted)
}

// reap closes a connection that sent no complete request head within the
// head timeout (slowloris, idle, or a keep-alive connection left idle).
func (cc *connCap) reap(k *capConn, gen int) {
	cc.mu.Lock()
	stale := cc.conns[k.c] != k || k.gen != gen
	cc.mu.Unlock()
	if !stale {
		_ = k.c.Close()
	}
}

// ServeHTTP serves r once its connection holds a slot; a request that waits
// past the queue timeout is answered 503 and its connection closed.
func (cc *connCap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cc.mu.Lock()
	k := cc.byAddr[r.RemoteAddr]
	cc.mu.Unlock()
	if k != nil && !k.hasSlot() {
		// Read the body first: only then does the server notice a client
		// that gives up waiting (and cancel r.Context()), so an abandoned
		// request never takes a slot.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxQueuedBody+1))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		var expired <-chan time.Time
		if cc.que > 0 {
			t := time.NewTimer(cc.que)
			defer t.Stop()
			expired = t.C
		}
		select {
		case <-k.granted:
		case <-r.Context().Done():
			return
		case <-expired:
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusServiceUnavailable, "no connection slot within "+cc.que.String()+
				" (max-conns "+strconv.Itoa(cc.max)+")", "overloaded")
			return
		}
	}
	cc.next.ServeHTTP(w, r)
}
