package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// Direction is which way an L4 fault acts: downstream is the upstream's
// answer on its way to the client (Toxiproxy's default), upstream is the
// client's bytes on their way to the upstream.
type Direction int

// The directions.
const (
	Downstream Direction = iota
	Upstream
	Both
)

// ParseDirection reads "downstream" (the default for ""), "upstream" or "both".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "", "downstream":
		return Downstream, nil
	case "upstream":
		return Upstream, nil
	case "both":
		return Both, nil
	}
	return 0, fmt.Errorf("direction %q is not valid (valid: downstream, upstream, both)", s)
}

func (d Direction) has(x Direction) bool { return d == Both || d == x }

// ConnFault is an L4 fault on a tcp route. It is decided once per
// connection, when the connection is accepted.
type ConnFault interface {
	// Open returns this fault's part in one new connection, or nil when
	// the draw (share) spares it.
	Open() Toxic
}

// Toxic is one L4 fault in one connection.
type Toxic interface {
	base() *connBase
	// chunk passes b (read at at) on through next — delayed, sliced,
	// dropped — or returns an error, which ends the connection.
	chunk(c *tcpConn, b []byte, at time.Time, next func([]byte) error) error
}

// opener toxics act when the connection is accepted, before the upstream
// is dialed (holding the opening, resetting).
type opener interface{ open(c *tcpConn) error }

// eofer toxics act when their direction's source has ended, before the
// other side hears of it (slow close).
type eofer interface{ eof(c *tcpConn) }

// connBase is what every L4 fault shares.
type connBase struct {
	Chance  *Chance
	Dir     Direction
	hits    interface{ Add(int64) int64 }
	removed chan struct{}
}

func (b *connBase) base() *connBase { return b }

// draw decides for one connection.
func (b *connBase) draw() bool {
	if !b.Chance.Hit() {
		return false
	}
	if b.hits != nil {
		b.hits.Add(1)
	}
	return true
}

func (b *connBase) gone() bool {
	select {
	case <-b.removed:
		return true
	default:
		return false
	}
}

// tcpConn is one proxied connection.
type tcpConn struct {
	client net.Conn
	done   chan struct{}
	mu     sync.Mutex
	up     net.Conn
	killed bool
}

var errClosed = errors.New("connection closed by chaos")

// kill ends the connection now; reset sends RST instead of FIN.
func (c *tcpConn) kill(reset bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return
	}
	c.killed = true
	for _, x := range []net.Conn{c.client, c.up} {
		if x == nil {
			continue
		}
		if tc, ok := x.(*net.TCPConn); ok && reset {
			_ = tc.SetLinger(0)
		}
		_ = x.Close()
	}
}

// setUp records the upstream connection; false when the connection was
// killed meanwhile (the upstream is closed then).
func (c *tcpConn) setUp(up net.Conn) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		_ = up.Close()
		return false
	}
	c.up = up
	return true
}

// wait sleeps d unless the connection ends first; it reports whether d passed.
func (c *tcpConn) wait(d time.Duration, removed <-chan struct{}) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	case <-removed:
		return true
	}
}

func (rt *Route) serveTCP() {
	var delay time.Duration
	for {
		c, err := rt.ln.Accept()
		if err != nil {
			select {
			case <-rt.done:
				return
			default:
			}
			if delay = min(max(2*delay, 5*time.Millisecond), time.Second); true {
				time.Sleep(delay) // out of file descriptors and the like: back off
			}
			continue
		}
		delay = 0
		go rt.handleConn(c)
	}
}

func (rt *Route) handleConn(client net.Conn) {
	rt.accepted.Add(1)
	rt.active.Add(1)
	rt.conns.Store(client, struct{}{})
	c := &tcpConn{client: client, done: make(chan struct{})}
	relayed := false
	defer func() {
		close(c.done)
		rt.conns.Delete(client)
		if !relayed {
			c.kill(false)
			rt.active.Add(-1)
		}
	}()
	var toxics []Toxic
	for _, in := range *rt.installed.Load() {
		if t := in.conn.Open(); t != nil {
			toxics = append(toxics, t)
		}
	}
	for _, t := range toxics {
		if o, ok := t.(opener); ok {
			if err := o.open(c); err != nil {
				return
			}
		}
	}
	up, err := net.DialTimeout("tcp", rt.upstream, 5*time.Second)
	if err != nil {
		rt.upstreamKO.Add(1)
		return
	}
	if !c.setUp(up) {
		return
	}
	if len(toxics) == 0 && useLoops() {
		// No fault: the event loops move the bytes (relay_linux.go);
		// without them (portable.go) the pipes below do.
		if relayed = rt.relayTCP(client, up, func() { rt.active.Add(-1) }) == nil; relayed {
			return
		}
	}
	rt.conns.Store(up, struct{}{})
	defer rt.conns.Delete(up)
	var ups, downs []Toxic
	for _, t := range toxics {
		if t.base().Dir.has(Upstream) {
			ups = append(ups, t)
		}
		if t.base().Dir.has(Downstream) {
			downs = append(downs, t)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.pipe(up, client, ups)
	}()
	c.pipe(client, up, downs)
	wg.Wait()
}

// pipe copies src to dst through toxics, then half-closes dst. With no
// toxic it is io.Copy, which splices between TCP sockets on Linux.
func (c *tcpConn) pipe(dst, src net.Conn, toxics []Toxic) {
	var err error
	if len(toxics) == 0 {
		_, err = io.Copy(dst, src)
	} else {
		err = c.pipeToxic(dst, src, toxics)
	}
	if err != nil {
		// A reset is passed on as one where nothing else is in the way
		// (as the event loops do); a fault's own reset is errReset.
		c.kill(errors.Is(err, errReset) || len(toxics) == 0 && errors.Is(err, syscall.ECONNRESET))
		return
	}
	for _, t := range toxics {
		if e, ok := t.(eofer); ok && !t.base().gone() {
			e.eof(c)
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		c.kill(false)
	}
}

type chunk struct {
	b  []byte
	at time.Time
}

// pipeToxic reads in one goroutine and writes through the toxics in
// another, so a delay does not stop reading and delays do not add up.
func (c *tcpConn) pipeToxic(dst, src net.Conn, toxics []Toxic) error {
	ch := make(chan chunk, 64)
	readErr := make(chan error, 1)
	go func() {
		defer close(ch)
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				ch <- chunk{b: append([]byte(nil), buf[:n]...), at: time.Now()}
			}
			if err != nil {
				if err == io.EOF {
					err = nil
				}
				readErr <- err
				return
			}
		}
	}()
	var through func(i int, at time.Time) func([]byte) error
	through = func(i int, at time.Time) func([]byte) error {
		return func(b []byte) error {
			for i < len(toxics) && toxics[i].base().gone() {
				i++
			}
			if i == len(toxics) {
				_, err := dst.Write(b)
				return err
			}
			return toxics[i].chunk(c, b, at, through(i+1, at))
		}
	}
	for ck := range ch {
		if err := through(0, ck.at)(ck.b); err != nil {
			go func() {
				for range ch {
				}
			}()
			return err
		}
	}
	return <-readErr
}
