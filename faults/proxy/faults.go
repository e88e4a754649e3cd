package proxy

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Chance decides, per request, whether a fault applies: share is a fraction
// from 0 to 1; draws come from a seeded source so runs repeat.
type Chance struct {
	mu    sync.Mutex
	rng   *rand.Rand
	share float64
}

// NewChance returns a Chance of share seeded with seed.
func NewChance(share float64, seed uint64) *Chance {
	return &Chance{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), share: share}
}

// Hit draws once.
func (c *Chance) Hit() bool {
	if c.share >= 1 {
		return true
	}
	if c.share <= 0 {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64() < c.share
}

// Jitter returns a uniform duration in [-j, +j].
func (c *Chance) Jitter(j time.Duration) time.Duration {
	if j <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rng.Int64N(int64(2*j)+1)) - j
}

// Latency holds a request for Delay ± Jitter before forwarding it, which the
// client sees as a later first byte.
type Latency struct {
	Delay, Jitter time.Duration
	Chance        *Chance
}

// ServeHTTP implements Fault.
func (l *Latency) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if l.Chance.Hit() {
		d := l.Delay + l.Chance.Jitter(l.Jitter)
		if d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	next.ServeHTTP(w, r)
}

// HTTPError answers a share of requests itself with Status (and Retry-After),
// the way an overloaded inference API does, without forwarding them.
type HTTPError struct {
	Status     int
	RetryAfter time.Duration
	Body       string
	Chance     *Chance
}

// ServeHTTP implements Fault.
func (e *HTTPError) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !e.Chance.Hit() {
		next.ServeHTTP(w, r)
		return
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	body := e.Body
	if body == "" {
		body = `{"error":{"message":"` + http.StatusText(e.Status) + ` (injected by chaos)","type":"chaos_injected"}}`
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Chaos-Fault", "http-error")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(body))
}
