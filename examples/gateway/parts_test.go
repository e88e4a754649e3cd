package gateway

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }
func newClock() *clock               { return &clock{t: time.Unix(1_000_000, 0)} }
func report(b *Breaker, ok, fail int) {
	for range ok {
		b.Report(true, false)
	}
	for range fail {
		b.Report(false, false)
	}
}

func TestBreakerStates(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerConfig{Window: 5 * time.Second, Threshold: 0.2, MinRequests: 10, OpenFor: 3 * time.Second, Probes: 3}, false)
	b.now = c.now
	report(b, 0, 9)
	assert.Equal(t, Closed, b.State(), "fewer than min requests")
	c.add(6 * time.Second) // they slide out of the window
	report(b, 40, 9)
	report(b, 0, 1) // 10 of 50 = 20%: not above
	assert.Equal(t, Closed, b.State())
	report(b, 0, 1)
	assert.Equal(t, Open, b.State())
	ok, _ := b.Allow()
	assert.False(t, ok)

	c.add(3 * time.Second)
	assert.Equal(t, HalfOpen, b.State())
	ok, probe := b.Allow()
	require.True(t, ok)
	require.True(t, probe)
	ok, _ = b.Allow()
	assert.False(t, ok, "one probe at a time")
	b.Report(false, true)
	assert.Equal(t, Open, b.State(), "failed probe re-opens")

	c.add(3 * time.Second)
	for i := range 3 {
		ok, probe := b.Allow()
		require.True(t, ok && probe, "probe %d", i)
		b.Report(true, true)
	}
	assert.Equal(t, Closed, b.State())
	report(b, 0, 9)
	assert.Equal(t, Closed, b.State(), "window was reset on close")

	c.add(6 * time.Second)
	report(b, 10, 0)
	report(b, 0, 2) // the 9 old failures slid out of the window
	assert.Equal(t, Closed, b.State())
}

func TestBreakerReleaseAndDisabled(t *testing.T) {
	c := newClock()
	b := NewBreaker(BreakerConfig{Window: time.Second, Threshold: 0.1, MinRequests: 1, OpenFor: time.Second, Probes: 1}, false)
	b.now = c.now
	report(b, 0, 1)
	c.add(time.Second)
	_, probe := b.Allow()
	b.Release(probe)
	ok, probe := b.Allow()
	assert.True(t, ok && probe, "released probe can be taken again")

	d := NewBreaker(BreakerConfig{Window: time.Second, Threshold: 0.1, MinRequests: 1, OpenFor: time.Second}, true)
	report(d, 0, 100)
	ok, _ = d.Allow()
	assert.True(t, ok)
	assert.Equal(t, Closed, d.State())
}

func TestPoolLeastConnAndEjection(t *testing.T) {
	c := newClock()
	p := NewPool([]string{"a", "b"}, 3, 10*time.Second)
	p.now = c.now
	a := p.Pick(nil, false)
	b := p.Pick(nil, false)
	assert.NotEqual(t, a, b, "least connections")
	p.Done(a, true)
	assert.Equal(t, a, p.Pick(nil, false))
	assert.Equal(t, b, p.Pick(map[*Replica]bool{a: true}, false), "prefers untried even when busier")
	p.Release(a)
	p.Release(b)

	for range 3 {
		p.Done(p.Pick(map[*Replica]bool{b: true}, false), false)
	}
	assert.True(t, p.Ejected(a))
	for range 5 {
		r := p.Pick(nil, false)
		assert.Equal(t, b, r)
		p.Release(r)
	}
	for range 3 {
		p.Done(p.Pick(nil, false), false)
	}
	assert.Nil(t, p.Pick(nil, false), "all ejected: unavailable")
	r := p.Pick(nil, true)
	require.NotNil(t, r, "a breaker probe may use an ejected replica")
	p.Done(r, true)
	assert.True(t, p.Ejected(r), "a late success does not end an ejection")
	p.Readmit(r)
	assert.False(t, p.Ejected(r), "a successful breaker probe does")

	other := a
	if r == a {
		other = b
	}
	c.add(10 * time.Second)
	assert.False(t, p.Ejected(other), "back after eject-for")
	other.inflight.Add(1)
	p.Done(other, false)
	assert.True(t, p.Ejected(other), "on probation: one failure ejects again")

	off := NewPool([]string{"x"}, 0, time.Second)
	for range 10 {
		off.Done(off.Pick(nil, false), false)
	}
	assert.False(t, off.Ejected(off.Replicas[0]))
}

func TestTokenBucketPriorities(t *testing.T) {
	c := newClock()
	tb := NewTokenBucket(10, 10, 0.5)
	tb.now, tb.last = c.now, c.t
	low := 0
	for tb.Allow(false) {
		low++
	}
	assert.Equal(t, 6, low, "low stops at the reserve of 5")
	high := 0
	for tb.Allow(true) {
		high++
	}
	assert.Equal(t, 4, high, "high takes what is left")
	c.add(time.Second)
	assert.True(t, tb.Allow(false), "refilled")
}

func TestRetryBudget(t *testing.T) {
	c := newClock()
	b := NewRetryBudget(0.2, 3, 10*time.Second, false)
	b.now = c.now
	b.start = c.t
	n := 0
	for b.TryRetry() {
		n++
	}
	assert.Equal(t, 3, n, "the floor: 3 per second")
	for range 100 {
		b.Request()
	}
	n = 0
	for b.TryRetry() {
		n++
	}
	assert.Equal(t, 20, n, "20% of requests")
	c.add(11 * time.Second)
	n = 0
	for b.TryRetry() {
		n++
	}
	assert.Equal(t, 30, n, "old requests and retries left the window; floor 3/s over 10s")
	assert.True(t, NewRetryBudget(0, 0, time.Second, true).TryRetry(), "disabled")
}

func TestBackoff(t *testing.T) {
	for range 100 {
		assert.Less(t, Backoff(1, 20*time.Millisecond, 500*time.Millisecond), 20*time.Millisecond)
		assert.Less(t, Backoff(3, 20*time.Millisecond, 500*time.Millisecond), 80*time.Millisecond)
		assert.Less(t, Backoff(40, 20*time.Millisecond, 500*time.Millisecond), 500*time.Millisecond)
	}
}

func TestMarkDegraded(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1}`:   `{"degraded":true,"a":1}`,
		"{}\n":      "{\"degraded\":true}\n",
		"[DONE]\n":  "[DONE]\n",
		`{"broken`:  `{"broken`,
		` { "x":2}`: `{"degraded":true, "x":2}`,
	} {
		assert.Equal(t, want, string(markDegraded([]byte(in))), in)
	}
}
