package gateway

import (
	"math/rand/v2"
	"sync"
	"time"
)

// RetryBudget caps retries to a share of requests over a sliding window,
// plus a floor per second (Finagle's RetryBudget): in any Window, retries ≤
// Percent × requests + MinPerSec × seconds. A disabled budget allows every
// retry.
type RetryBudget struct {
	Percent   float64
	MinPerSec float64
	Window    time.Duration
	disabled  bool
	now       func() time.Time

	mu      sync.Mutex
	start   time.Time
	slots   []budgetSlot
	slotDur time.Duration
}

type budgetSlot struct {
	at                int64 // slot number since the epoch
	requests, retries int
}

// NewRetryBudget makes a budget over a 10-slot window.
func NewRetryBudget(percent, minPerSec float64, window time.Duration, disabled bool) *RetryBudget {
	if window <= 0 {
		window = 10 * time.Second
	}
	b := &RetryBudget{Percent: percent, MinPerSec: minPerSec, Window: window, disabled: disabled,
		now: time.Now, slots: make([]budgetSlot, 10), slotDur: window / 10}
	b.start = b.now()
	return b
}

func (b *RetryBudget) slot(now time.Time) *budgetSlot {
	n := now.UnixNano() / int64(b.slotDur)
	s := &b.slots[n%int64(len(b.slots))]
	if s.at != n {
		*s = budgetSlot{at: n}
	}
	return s
}

// Request records one incoming request.
func (b *RetryBudget) Request() {
	b.mu.Lock()
	b.slot(b.now()).requests++
	b.mu.Unlock()
}

// TryRetry takes one retry from the budget; false means no retry is allowed.
func (b *RetryBudget) TryRetry() bool {
	if b.disabled {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	cur := b.slot(now)
	first := now.UnixNano()/int64(b.slotDur) - int64(len(b.slots)) + 1
	requests, retries := 0, 0
	for _, s := range b.slots {
		if s.at >= first {
			requests += s.requests
			retries += s.retries
		}
	}
	span := min(now.Sub(b.start), b.Window)
	if float64(retries+1) > b.Percent*float64(requests)+b.MinPerSec*max(span.Seconds(), 1) {
		return false
	}
	cur.retries++
	return true
}

// Backoff is the wait before retry number attempt (1-based): full jitter,
// uniform in [0, min(max, base·2^(attempt-1))).
func Backoff(attempt int, base, maxWait time.Duration) time.Duration {
	ceil := base << (attempt - 1)
	if ceil > maxWait || ceil <= 0 {
		ceil = maxWait
	}
	if ceil <= 0 {
		return 0
	}
	return rand.N(ceil)
}

// TokenBucket is the priority-aware admission limit: high priority takes a
// token while there is one, low priority only while at least Reserve tokens
// are left, so a flood of low-priority work cannot starve high priority.
type TokenBucket struct {
	Rate, Burst, Reserve float64
	now                  func() time.Time

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewTokenBucket starts full; lowReserve is the share of burst (0..1) kept
// for high priority.
func NewTokenBucket(rate, burst, lowReserve float64) *TokenBucket {
	t := &TokenBucket{Rate: rate, Burst: burst, Reserve: max(1, lowReserve*burst), now: time.Now, tokens: burst}
	t.last = t.now()
	return t
}

// Allow takes a token for a request of the given priority.
func (t *TokenBucket) Allow(high bool) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.tokens = min(t.Burst, t.tokens+now.Sub(t.last).Seconds()*t.Rate)
	t.last = now
	need := t.Reserve
	if high {
		need = 1
	}
	if t.tokens < need {
		return false
	}
	t.tokens--
	return true
}
