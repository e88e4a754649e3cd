package proxy

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Chance decides whether a fault applies: share is a fraction from 0 to 1;
// draws come from a seeded source so runs repeat.
type Chance struct {
	mu    sync.Mutex
	rng   *rand.Rand
	share float64
}

// NewChance returns a Chance of share seeded with seed.
func NewChance(share float64, seed uint64) *Chance {
	return &Chance{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), share: share}
}

// Hit draws once. A nil Chance always hits.
func (c *Chance) Hit() bool {
	if c == nil || c.share >= 1 {
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
	return c.Upto(2*j) - j
}

// Upto returns a uniform duration in [0, d].
func (c *Chance) Upto(d time.Duration) time.Duration {
	if d <= 0 || c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.rng.Int64N(int64(d) + 1))
}

// Intn returns a uniform int in [0, n).
func (c *Chance) Intn(n int) int {
	if n <= 1 || c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.IntN(n)
}

// base is what every http fault shares: which requests it matches, the
// share it hits, and a counter of the requests it acted on.
type base struct {
	Chance *Chance
	Match  Match
	hits   *atomic.Int64
}

// applies decides for one request, counting hits.
func (b *base) applies(r *http.Request) bool {
	if !b.Match.OK(r) || !b.Chance.Hit() {
		return false
	}
	if b.hits != nil {
		b.hits.Add(1)
	}
	return true
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// retryAfter sets Retry-After in whole seconds, rounded up.
func retryAfter(w http.ResponseWriter, d time.Duration) {
	if d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}
