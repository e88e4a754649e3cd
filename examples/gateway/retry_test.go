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

// failingPrimary sends 100 req/s for 3 s at a gateway whose two primaries
// always answer 500, with no fallback; breaker, ejection and shedding are off so that
// only the retry budget limits retries. It returns the requests sent and
// the retries the gateway made.
func failingPrimary(t *testing.T, variants ...string) (requests int, retries float64) {
	f := &fault{}
	f.mode.Store(erroring)
	cfg := gateway.DefaultConfig()
	cfg.Primary = []string{startModel(t, "primary", f, nil), startModel(t, "primary", f, nil)}
	cfg.Fallback = startModel(t, "fallback", nil, nil)
	for _, v := range append([]string{"no-fallback", "no-breaker", "no-ejection", "no-shedding"}, variants...) {
		require.NoError(t, cfg.SetVariant(v))
	}
	base, _ := startGateway(t, cfg)
	rs := loadtest.Run(context.Background(), base+"/v1/chat/completions", 3*time.Second, loadtest.Stream{Rate: 100})
	require.Len(t, rs, 300)
	assert.Equal(t, 1.0, loadtest.Share(rs, func(r loadtest.Result) bool { return r.Status == http.StatusServiceUnavailable }))
	return len(rs), metric(t, base, "gateway_retries_total")
}

func TestRetryBudgetCapsRetries(t *testing.T) {
	n, retries := failingPrimary(t)
	// 20% of requests plus 3/s over the 3 s run, and a little slack for
	// the second in which the run ends.
	limit := 0.2*float64(n) + 3*4
	assert.LessOrEqual(t, retries, limit)
	assert.Greater(t, retries, 0.0)
	t.Logf("%d requests, %.0f retries (limit %.0f)", n, retries, limit)
}

func TestNoRetryBudgetRetriesEverything(t *testing.T) {
	n, retries := failingPrimary(t, "no-retry-budget")
	assert.InDelta(t, 2*float64(n), retries, 0.05*float64(n), "two retries per request")
	t.Logf("%d requests, %.0f retries", n, retries)
}
