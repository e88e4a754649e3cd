package gateway_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/internal/loadtest"
	"github.com/chaos-sre/chaos/examples/model"
)

// brownout is a primary tier that answers "overloaded" 503 to half of the
// requests it receives and counts every one of them, answered or not: the
// count an honest amplification is measured with.
type brownout struct{ received atomic.Int64 }

func (b *brownout) start(t *testing.T) string {
	t.Helper()
	m, err := model.New(model.DefaultConfig())
	require.NoError(t, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			b.received.Add(1)
			if rand.IntN(2) == 0 {
				model.WriteError(w, http.StatusServiceUnavailable, "overloaded", "overloaded_error")
				return
			}
		}
		m.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// amplification sends 60 req/s for 3 s at a gateway in front of two
// browned-out primaries with no fallback (busy answers are retried, not
// taken elsewhere) and breaker, ejection and shedding off, so only the retry
// budget limits retries. (The retry-storm experiment tunes the breaker past
// the brownout instead; here, with no healthy history in its window, the
// breaker would open on the first failures.) It returns primary attempts per client request, as the primaries
// counted them, after checking that the gateway's own
// gateway_upstream_attempts_total agrees.
func amplification(t *testing.T, variants ...string) float64 {
	b := &brownout{}
	cfg := gateway.DefaultConfig()
	cfg.Primary = []string{b.start(t), b.start(t)}
	for _, v := range append([]string{"no-breaker", "no-ejection", "no-shedding"}, variants...) {
		require.NoError(t, cfg.SetVariant(v))
	}
	base, _ := startGateway(t, cfg)
	rs := loadtest.Run(context.Background(), base+"/v1/chat/completions", 3*time.Second, loadtest.Stream{Rate: 60})
	require.Len(t, rs, 180)
	got := float64(b.received.Load())
	assert.Equal(t, got, metric(t, base, `gateway_upstream_attempts_total{upstream="primary"}`),
		"the gateway's attempt counter matches what the primaries received")
	return got / float64(len(rs))
}

func TestRetryBudgetBoundsAmplification(t *testing.T) {
	a := amplification(t)
	// 20% of requests plus 3/s of retries: about 1.3 attempts a request.
	assert.Greater(t, a, 1.05, "retries still happen")
	assert.LessOrEqual(t, a, 1.45)
	t.Logf("with the budget: %.2f attempts per request", a)
}

func TestNoRetryBudgetMultipliesAttempts(t *testing.T) {
	a := amplification(t, "no-retry-budget")
	// Every failed attempt is retried, twice: 1 + ½ + ¼ = 1.75 in theory;
	// 1.58–1.83 measured. With the budget it stays under 1.45.
	assert.GreaterOrEqual(t, a, 1.5)
	t.Logf("without the budget: %.2f attempts per request", a)
}
