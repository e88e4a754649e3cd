package gateway

import (
	"sync"
	"time"
)

// BreakerState is a circuit breaker's state; its value is what the
// gateway_breaker_state gauge reports.
type BreakerState int

// The breaker states, numbered as the gauge reports them.
const (
	Closed   BreakerState = 0
	Open     BreakerState = 1
	HalfOpen BreakerState = 2
)

// String names the state.
func (s BreakerState) String() string {
	return [...]string{"closed", "open", "half-open"}[s]
}

// BreakerConfig tunes a breaker. The zero Window disables it (never opens).
type BreakerConfig struct {
	Window      time.Duration // sliding window the failure rate is taken over
	Buckets     int           // window resolution; default 10
	Threshold   float64       // failure share (0..1) above which it opens
	MinRequests int           // results in the window before it may open
	OpenFor     time.Duration // time open before half-open
	Probes      int           // successful probes in a row that close it
}

// Breaker is a Hystrix-style circuit breaker over a bucketed sliding window.
// Half-open admits one probe at a time, so a still-broken upstream costs one
// slow request per OpenFor, not Probes of them; Probes successes in a row
// close it, any failure re-opens it.
type Breaker struct {
	cfg      BreakerConfig
	disabled bool
	now      func() time.Time

	mu       sync.Mutex
	state    BreakerState
	buckets  []bucket
	openedAt time.Time
	probing  bool
	probeOK  int
}

type bucket struct {
	start     time.Time
	ok, fails int
}

// NewBreaker returns a closed breaker; disabled breakers admit everything and
// stay closed.
func NewBreaker(cfg BreakerConfig, disabled bool) *Breaker {
	if cfg.Buckets < 1 {
		cfg.Buckets = 10
	}
	if cfg.Probes < 1 {
		cfg.Probes = 1
	}
	return &Breaker{cfg: cfg, disabled: disabled || cfg.Window <= 0, now: time.Now,
		buckets: make([]bucket, cfg.Buckets)}
}

// State reports the current state, moving open to half-open when OpenFor
// has passed.
func (b *Breaker) State() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick(b.now())
	return b.state
}

func (b *Breaker) tick(now time.Time) {
	if b.state == Open && now.Sub(b.openedAt) >= b.cfg.OpenFor {
		b.state, b.probing, b.probeOK = HalfOpen, false, 0
	}
}

// Allow says whether a request may go to the upstream; probe is true when it
// is the half-open probe, whose result must be reported with probe set.
func (b *Breaker) Allow() (ok, probe bool) {
	if b.disabled {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tick(b.now())
	switch b.state {
	case Closed:
		return true, false
	case HalfOpen:
		if !b.probing {
			b.probing = true
			return true, true
		}
	}
	return false, false
}

// Report records the result of an admitted request. Results of requests
// admitted before the breaker opened are ignored once it is open.
func (b *Breaker) Report(success, probe bool) {
	if b.disabled {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if probe {
		b.probing = false
		if b.state != HalfOpen {
			return
		}
		if !success {
			b.trip(now)
			return
		}
		if b.probeOK++; b.probeOK >= b.cfg.Probes {
			b.state = Closed
			clear(b.buckets)
		}
		return
	}
	if b.state != Closed {
		return
	}
	width := b.cfg.Window / time.Duration(len(b.buckets))
	start := now.Truncate(width)
	cur := &b.buckets[int(start.UnixNano()/int64(width))%len(b.buckets)]
	if !cur.start.Equal(start) {
		*cur = bucket{start: start}
	}
	if success {
		cur.ok++
	} else {
		cur.fails++
	}
	total, fails := 0, 0
	for _, bk := range b.buckets {
		if now.Sub(bk.start) < b.cfg.Window {
			total += bk.ok + bk.fails
			fails += bk.fails
		}
	}
	if total >= b.cfg.MinRequests && float64(fails) > b.cfg.Threshold*float64(total) {
		b.trip(now)
	}
}

// Release gives back a probe whose request ended without a verdict (the
// client went away), so another request can probe.
func (b *Breaker) Release(probe bool) {
	if !probe || b.disabled {
		return
	}
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

func (b *Breaker) trip(now time.Time) {
	b.state, b.openedAt, b.probing, b.probeOK = Open, now, false, 0
}
