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
)

// flood sends 300 req/s of low priority (80% marked low, 20% unmarked,
// which is low too) plus 10 req/s of high priority for 3 s, at a gateway in
// front of two default model replicas (≈120 req/s of capacity together).
func flood(t *testing.T, variants ...string) (high, low []loadtest.Result, base string) {
	cfg := gateway.DefaultConfig()
	cfg.Primary = []string{startModel(t, "primary", nil, nil), startModel(t, "primary", nil, nil)}
	cfg.Fallback = startModel(t, "fallback", nil, fastFallback)
	for _, v := range variants {
		require.NoError(t, cfg.SetVariant(v))
	}
	base, _ = startGateway(t, cfg)
	lowHdr := http.Header{"X-Priority": {"low"}}
	rs := loadtest.Run(context.Background(), base+"/v1/chat/completions", 3*time.Second,
		loadtest.Stream{Rate: 300, Timeout: 5 * time.Second,
			Class: func(int) string { return "low" },
			Header: func(i int) http.Header {
				if i%5 == 4 {
					return nil
				}
				return lowHdr
			}},
		loadtest.Stream{Rate: 10, Timeout: 5 * time.Second,
			Class:  func(int) string { return "high" },
			Header: func(int) http.Header { return http.Header{"X-Priority": {"high"}} }})
	high = loadtest.Select(rs, func(r loadtest.Result) bool { return r.Class == "high" })
	low = loadtest.Select(rs, func(r loadtest.Result) bool { return r.Class == "low" })
	require.Len(t, high, 30)
	require.Len(t, low, 900)
	return high, low, base
}

func failed(r loadtest.Result) bool { return r.Status != http.StatusOK }

func TestSheddingProtectsHighPriority(t *testing.T) {
	high, low, base := flood(t)
	assert.LessOrEqual(t, loadtest.Share(high, failed), 0.01, "high priority error rate")
	assert.LessOrEqual(t, loadtest.Quantile(high, 0.99), time.Second, "high priority p99")
	shed := loadtest.Share(low, func(r loadtest.Result) bool { return r.Status == http.StatusTooManyRequests })
	assert.Greater(t, shed, 0.5, "low priority shed with 429")
	assert.Equal(t, 0.0, metric(t, base, `gateway_shed_total{class="high"}`))
	assert.Greater(t, metric(t, base, `gateway_shed_total{class="low"}`), 450.0)
	for _, r := range low {
		if r.Status == http.StatusTooManyRequests {
			assert.Contains(t, r.Body, `"rate_limited"`)
			break
		}
	}
	t.Logf("high: errors %.1f%% p99 %v; low: shed %.0f%% p50 %v", 100*loadtest.Share(high, failed),
		loadtest.Quantile(high, 0.99), 100*shed, loadtest.Quantile(low, 0.5))
}

func TestNoSheddingHurtsHighPriority(t *testing.T) {
	high, low, base := flood(t, "no-shedding")
	errs, p99 := loadtest.Share(high, failed), loadtest.Quantile(high, 0.99)
	assert.True(t, errs > 0.05 || p99 > time.Second, "high priority suffers: errors %.1f%%, p99 %v", 100*errs, p99)
	assert.Equal(t, 0.0, metric(t, base, `gateway_shed_total{class="low"}`))
	assert.Zero(t, loadtest.Share(low, func(r loadtest.Result) bool { return r.Status == http.StatusTooManyRequests }))
	t.Logf("high: errors %.1f%% p99 %v; low errors %.1f%%", 100*errs, p99, 100*loadtest.Share(low, failed))
}
