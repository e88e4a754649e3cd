package gateway_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/internal/loadtest"
	"github.com/chaos-sre/chaos/examples/model"
)

func fastFallback(c *model.Config) {
	c.TTFT, c.TokenDelay = 20*time.Millisecond, 2*time.Millisecond
}

// slowStack is two primaries behind one fault (2 s of latency) and a
// healthy fallback, with the gateway's default settings.
func slowStack(t testing.TB, variants ...string) (string, *fault) {
	f := &fault{}
	f.delay.Store(int64(2 * time.Second))
	f.mode.Store(slow)
	cfg := gateway.DefaultConfig()
	cfg.Primary = []string{startModel(t, "primary", f, nil), startModel(t, "primary", f, nil)}
	cfg.Fallback = startModel(t, "fallback", nil, fastFallback)
	for _, v := range variants {
		require.NoError(t, cfg.SetVariant(v))
	}
	base, _ := startGateway(t, cfg)
	return base, f
}

// breakerRun runs 40 req/s for 10 s at slowStack's gateway, heals the
// primaries 2.5 s after the breaker opened, and returns the answers sent
// while it was open (from 500 ms after it opened until the healing) and
// after it closed again (from 500 ms on), with when it opened and how long
// after the healing it closed; it fails tb if the breaker did not open or
// close within 5 s.
func breakerRun(tb testing.TB) (whileOpen, after []loadtest.Result, opened, closedIn time.Duration) {
	base, f := slowStack(tb)
	state := func() float64 { return metric(tb, base, `gateway_breaker_state{upstream="primary"}`) }
	require.Equal(tb, 0.0, state())

	start := time.Now()
	results := make(chan []loadtest.Result, 1)
	go func() {
		results <- loadtest.Run(context.Background(), base+"/v1/chat/completions", 10*time.Second,
			loadtest.Stream{Rate: 40, Stream: true})
	}()
	took := waitFor(5*time.Second, func() bool { return state() == 1 })
	require.Positive(tb, took, "breaker opened within 5s")
	opened = time.Since(start)
	time.Sleep(2500 * time.Millisecond) // the breaker stays open this long: the window judged
	f.mode.Store(healthy)
	healed := time.Since(start)
	closedIn = waitFor(5*time.Second, func() bool { return state() == 0 })
	require.Positive(tb, closedIn, "breaker closed within 5s of healing")
	closed := time.Since(start)
	rs := <-results

	whileOpen = loadtest.Select(rs, func(r loadtest.Result) bool {
		return r.At > opened+500*time.Millisecond && r.At < healed
	})
	after = loadtest.Select(rs, func(r loadtest.Result) bool { return r.At > closed+500*time.Millisecond })
	return whileOpen, after, opened, closed - healed
}

// TestBreakerOpensFallsBackAndCloses is the demo's contract: 2 s of latency
// in front of the primaries opens the breaker within 5 s, the fallback then
// answers every request without trying the primaries first, and the
// breaker closes once the primaries heal. (The fallback's p99 while open is
// BenchmarkBreakerOpen's figure.)
func TestBreakerOpensFallsBackAndCloses(t *testing.T) {
	whileOpen, after, opened, closedIn := breakerRun(t)
	require.NotEmpty(t, whileOpen)
	assert.Equal(t, 1.0, loadtest.Share(whileOpen, func(r loadtest.Result) bool { return r.Degraded && r.Status == 200 }))
	// A request that tried the primaries first would have waited out the
	// first-byte timeout before falling back (TestNoBreakerPaysTheTimeout).
	timeout := gateway.DefaultConfig().FirstByteTimeout
	assert.Less(t, loadtest.Quantile(whileOpen, 0.99), timeout, "while open, requests go straight to the fallback: p99 under the first-byte timeout")

	require.NotEmpty(t, after)
	assert.Equal(t, 1.0, loadtest.Share(after, func(r loadtest.Result) bool { return !r.Degraded && r.Status == 200 }))
	t.Logf("opened after %v, closed %v after healing; fallback p99 %v", opened, closedIn,
		loadtest.Quantile(whileOpen, 0.99))
}

// TestNoBreakerPaysTheTimeout: without the breaker the gauge stays 0 and
// every request waits for the first-byte timeout before it falls back
// (with ejection off too, as ejecting every replica also sends requests
// straight to the fallback).
func TestNoBreakerPaysTheTimeout(t *testing.T) {
	base, _ := slowStack(t, "no-breaker", "no-ejection") // ejecting both replicas would act as a breaker
	results := make(chan []loadtest.Result, 1)
	go func() {
		results <- loadtest.Run(context.Background(), base+"/v1/chat/completions", 3*time.Second,
			loadtest.Stream{Rate: 20})
	}()
	maxState := 0.0
	for range 30 {
		maxState = max(maxState, metric(t, base, `gateway_breaker_state{upstream="primary"}`))
		time.Sleep(100 * time.Millisecond)
	}
	rs := <-results
	assert.Equal(t, 0.0, maxState, "breaker gauge stays closed")
	fast := loadtest.Select(rs, func(r loadtest.Result) bool { return r.Latency < 800*time.Millisecond })
	assert.Empty(t, len(fast), "every request pays the 800ms first-byte timeout")
	assert.Equal(t, 1.0, loadtest.Share(rs, func(r loadtest.Result) bool { return r.Degraded && r.Status == http.StatusOK }))
}
