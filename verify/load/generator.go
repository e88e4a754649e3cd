package load

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"time"
)

// queueCap bounds the requests waiting for a free worker; beyond it they are
// counted as unsent instead of growing memory.
const queueCap = 1 << 16

// item is one request due at offset at from Start.
type item struct {
	at time.Duration
	// queued is when it entered the backlog, and waited how long it stayed
	// there for a busy worker: lateness the stack's slowness caused, which
	// the timeline keeps apart from chaos's own (OwnLag).
	queued, waited time.Duration
	class          int32
}

// Stats are the totals of a run.
type Stats struct {
	Sent      int64 // requests put on the wire
	Completed int64 // requests recorded (any outcome)
	Unsent    int64 // due but never sent: the run stopped, or the backlog was full
	Dialed    int64 // connections opened
	// MaxConns is the peak of connections open at once. With a custom Client
	// closes are not visible, so it counts new connections (an upper bound).
	MaxConns int64
}

// Generator sends requests open-loop on the configured schedule.
type Generator struct {
	cfg    Config
	tl     *Timeline
	client *http.Client
	// freshClient sends fresh-connection requests when raw is nil: a
	// transport without idle connections (or Config.Client as is).
	freshClient *http.Client
	fresh       []bool          // per class: a fresh connection per request
	closeReqs   []*http.Request // per class: reqs with Connection: close
	raw         *rawClient      // the default sender for http:// URLs; nil = net/http
	conns       *connCounter
	trace       func(context.Context) context.Context // counts new connections of a custom Client
	reqs        []*http.Request                       // one template per class, shared read-only
	shares      []float64                             // cumulative class shares

	markHeader              string
	markJSON                jsonPath
	contentPath, tokensPath jsonPath

	start time.Time
	ran   atomic.Bool

	rateMu      sync.Mutex
	pending     float64
	havePending bool
	rateCh      chan struct{}

	sent, completed, unsent atomic.Int64
}

// New validates cfg and builds a generator; errors name the field and what is valid.
func New(cfg Config) (*Generator, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:         cfg,
		conns:       &connCounter{},
		rateCh:      make(chan struct{}, 1),
		contentPath: splitPath("choices.0.delta.content"),
		tokensPath:  splitPath("usage.completion_tokens"),
	}
	names := make([]string, len(cfg.Classes))
	cum := 0.0
	for i, c := range cfg.Classes {
		names[i] = c.Name
		cum += c.Share
		g.shares = append(g.shares, cum)
		req, err := http.NewRequest(cfg.Method, cfg.URL, nil)
		if err != nil {
			return nil, errors.New("load: url: " + err.Error())
		}
		for k, v := range cfg.Headers {
			req.Header.Set(k, v)
		}
		for k, v := range c.Headers {
			req.Header.Set(k, v)
		}
		if len(cfg.Body) > 0 {
			body := cfg.Body
			req.ContentLength = int64(len(body))
			req.GetBody = func() (io.ReadCloser, error) {
				b := &bodyReader{}
				b.Reset(body)
				return b, nil
			}
			if req.Header.Get("Content-Type") == "" {
				req.Header.Set("Content-Type", "application/json")
			}
		}
		g.reqs = append(g.reqs, req)
		closeReq := req.Clone(req.Context())
		closeReq.Close = true
		g.closeReqs = append(g.closeReqs, closeReq)
		g.fresh = append(g.fresh, cfg.FreshConnections || c.FreshConnections)
	}
	g.tl = newTimeline(names, cfg.Timeout)
	if m := cfg.Degraded; m != nil {
		if m.Header != "" {
			g.markHeader = http.CanonicalHeaderKey(m.Header)
		}
		if m.JSON != "" {
			g.markJSON = splitPath(m.JSON)
		}
	}
	g.client = cfg.Client
	switch {
	case g.client != nil:
		g.trace = g.conns.traceContext()
	case g.reqs[0].URL.Scheme == "http":
		raw, err := newRawClient(g)
		if err != nil {
			return nil, err
		}
		g.raw = raw
	default:
		g.client = &http.Client{Transport: newTransport(cfg, g.conns)}
	}
	g.freshClient = g.client
	var custom *http.Transport
	if cfg.Client != nil {
		custom, _ = cfg.Client.Transport.(*http.Transport)
	}
	switch t := custom; {
	case cfg.Client == nil && g.raw == nil:
		g.freshClient = &http.Client{Transport: newFreshTransport(cfg, g.conns)}
	case t != nil:
		// A fresh request must not take an idle pooled connection (nor
		// leave one): the same transport's settings, no keep-alive.
		ft := t.Clone()
		ft.DisableKeepAlives = true
		fc := *cfg.Client
		fc.Transport = ft
		g.freshClient = &fc
	}
	return g, nil
}

// Timeline returns the results so far; it is safe to read while Run records.
func (g *Generator) Timeline() *Timeline { return g.tl }

// Stats returns the run's totals so far.
func (g *Generator) Stats() Stats {
	return Stats{
		Sent: g.sent.Load(), Completed: g.completed.Load(), Unsent: g.unsent.Load(),
		Dialed: g.conns.dialed.Load(), MaxConns: g.conns.peak.Load(),
	}
}

// SetRate replaces the rest of the schedule by a constant rate r req/s from
// now on; before Run it replaces the stages. A rate of 0 pauses sending.
func (g *Generator) SetRate(r float64) {
	if !finiteNonNeg(r) {
		r = 0
	}
	g.rateMu.Lock()
	g.pending, g.havePending = r, true
	g.rateMu.Unlock()
	select {
	case g.rateCh <- struct{}{}:
	default:
	}
}

// since is the offset of now from Start.
func (g *Generator) since() time.Duration { return time.Since(g.start) }

// Run sends requests until ctx is done or MaxDuration passes, then waits for
// the requests in flight (each bounded by Timeout). It returns nil on a
// normal stop, and an error only when the generator has already run.
func (g *Generator) Run(ctx context.Context) error {
	if !g.ran.CompareAndSwap(false, true) {
		return errors.New("load: run: a generator runs once; make a new one with New")
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, g.cfg.MaxDuration)
	defer cancel()
	g.start = time.Now()
	g.tl.begin(g.start)
	d := newDispatcher(g, queueCap)
	var wg sync.WaitGroup
	base := context.WithoutCancel(ctx)
	for range g.cfg.Connections {
		w := &worker{g: g, base: base} // buffers come with the first request: LIFO dispatch leaves many workers unused
		ch := make(chan item, 1)
		wg.Go(func() {
			defer w.closeConns()
			for {
				it, ok := d.next(ch)
				if !ok {
					return
				}
				g.tl.record(w.do(it))
				g.completed.Add(1)
			}
		})
	}
	d.pace(ctx, parent)
	g.tl.finish(g.start.Add(min(g.since(), g.cfg.MaxDuration)))
	wg.Wait()
	g.tl.compactAll()
	return nil
}

// unsend counts a request that was due but is never sent.
func (g *Generator) unsend(it item) {
	g.unsent.Add(1)
	g.tl.recordUnsent(it.at, int(it.class))
}

// classRand is the seeded source of class choices.
func (g *Generator) classRand() *rand.Rand {
	return rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x9e3779b97f4a7c15))
}

// pickClass draws a class by share from the seeded source.
func (g *Generator) pickClass(rng *rand.Rand) int32 {
	if len(g.shares) == 1 {
		return 0
	}
	x := rng.Float64() * g.shares[len(g.shares)-1]
	for i, c := range g.shares {
		if x < c {
			return int32(i)
		}
	}
	return int32(len(g.shares) - 1)
}

// traceContext returns a function adding a trace that counts new connections.
func (c *connCounter) traceContext() func(context.Context) context.Context {
	tr := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		if !i.Reused {
			c.peak.Store(c.dialed.Add(1))
		}
	}}
	return func(ctx context.Context) context.Context { return httptrace.WithClientTrace(ctx, tr) }
}
