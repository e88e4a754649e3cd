package gateway_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/internal/loadtest"
)

// hungReplica runs 30 req/s for 6 s at a gateway over two replicas, one of
// which never answers, and returns the results, the gateway URL and the
// hung replica's address.
func hungReplica(t testing.TB, variants ...string) ([]loadtest.Result, string, string) {
	f := &fault{}
	f.mode.Store(hanging)
	hung := startModel(t, "primary", f, nil)
	cfg := gateway.DefaultConfig()
	cfg.Primary = []string{startModel(t, "primary", nil, nil), hung}
	cfg.Fallback = startModel(t, "fallback", nil, fastFallback)
	for _, v := range variants {
		require.NoError(t, cfg.SetVariant(v))
	}
	base, _ := startGateway(t, cfg)
	rs := loadtest.Run(context.Background(), base+"/v1/chat/completions", 6*time.Second, loadtest.Stream{Rate: 30})
	require.Len(t, rs, 180)
	return rs, base, hung
}

func settled(rs []loadtest.Result) []loadtest.Result {
	return loadtest.Select(rs, func(r loadtest.Result) bool { return r.At >= 3*time.Second })
}

func degraded(r loadtest.Result) bool { return r.Degraded }

func TestEjectionRemovesHungReplica(t *testing.T) {
	rs, base, hung := hungReplica(t)
	assert.Equal(t, 1.0, metric(t, base, `gateway_replica_ejected{replica="`+hung+`"}`))
	assert.Equal(t, 1.0, metric(t, base, "gateway_ejected_replicas"))
	// A request the gateway sends to the hung replica waits out the
	// first-byte timeout before it is retried: once the replica is ejected,
	// hardly any does. (How fast the rest are is BenchmarkEjectedReplica's.)
	late := settled(rs)
	timeout := gateway.DefaultConfig().FirstByteTimeout
	assert.LessOrEqual(t, loadtest.Share(late, func(r loadtest.Result) bool { return r.Latency >= timeout }), 0.05,
		"once ejected, at most 5%% of requests wait out the %v first-byte timeout", timeout)
	assert.Zero(t, loadtest.Share(rs, degraded), "no degraded answers")
	assert.Zero(t, loadtest.Share(rs, failed), "no errors")
	t.Logf("p95 first 3s %v, last 3s %v", loadtest.Quantile(rs[:90], 0.95), loadtest.Quantile(late, 0.95))
}

func TestNoEjectionKeepsHungReplica(t *testing.T) {
	rs, base, hung := hungReplica(t, "no-ejection")
	assert.Equal(t, 0.0, metric(t, base, `gateway_replica_ejected{replica="`+hung+`"}`))
	late := settled(rs)
	p95, deg := loadtest.Quantile(late, 0.95), loadtest.Share(late, degraded)
	assert.True(t, p95 >= 400*time.Millisecond || deg > 0, "p95 %v, degraded %.0f%%", p95, 100*deg)
	t.Logf("last 3s: p95 %v, degraded %.0f%%", p95, 100*deg)
}

// Every replica hung: ejection empties the pool, and a pool with nothing
// left to try counts as failures, so the breaker opens (and the fallback
// answers) whichever of the two acts first.
func TestEmptyPoolOpensBreaker(t *testing.T) {
	for _, tc := range []struct {
		variant string
		trips   bool
	}{{"", true}, {"no-breaker", false}} {
		t.Run("variant="+tc.variant, func(t *testing.T) {
			cfg := gateway.DefaultConfig()
			for range 2 {
				f := &fault{}
				f.mode.Store(hanging)
				cfg.Primary = append(cfg.Primary, startModel(t, "primary", f, nil))
			}
			cfg.Fallback = startModel(t, "fallback", nil, fastFallback)
			if tc.variant != "" {
				require.NoError(t, cfg.SetVariant(tc.variant))
			}
			base, _ := startGateway(t, cfg)
			rs := loadtest.Run(context.Background(), base+"/v1/chat/completions", 4*time.Second, loadtest.Stream{Rate: 30})
			assert.Equal(t, 2.0, metric(t, base, "gateway_ejected_replicas"), "both replicas ejected")
			// open (1), or half-open (2) once its open time is over; never closed
			state := metric(t, base, `gateway_breaker_state{upstream="primary"}`)
			assert.Equal(t, tc.trips, state != 0, "primary breaker state %v", state)
			assert.Greater(t, loadtest.Share(settled(rs), degraded), 0.9, "the fallback answers")
		})
	}
}
