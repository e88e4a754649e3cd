package stack_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/internal/loadtest"
	"github.com/chaos-sre/chaos/examples/stack"
)

func scrape(t *testing.T, url, series string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return -1
}

// TestSigstopReplicaIsEjected is the demo's contract on real processes:
// SIGSTOP one of two primary replicas at 30 req/s, and the gateway ejects it
// within a few seconds, with p95 back under 400 ms and no degraded answers.
func TestSigstopReplicaIsEjected(t *testing.T) {
	s, err := stack.Start(context.Background(), stack.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })
	victim := s.Find("model-primary-0")[0]
	t.Cleanup(func() { _ = syscall.Kill(victim.Pid(), syscall.SIGCONT) })

	results := make(chan []loadtest.Result, 1)
	begin := time.Now()
	go func() {
		results <- loadtest.Run(context.Background(), s.Gateway.URL()+"/v1/chat/completions", 7*time.Second,
			loadtest.Stream{Rate: 30, Stream: true})
	}()
	time.Sleep(time.Second)
	require.NoError(t, syscall.Kill(victim.Pid(), syscall.SIGSTOP))
	stopped := time.Now()
	stopAt := stopped.Sub(begin)
	series := `gateway_replica_ejected{replica="` + victim.Addr + `"}`
	var ejectedIn time.Duration
	for time.Since(stopped) < 5*time.Second && ejectedIn == 0 {
		if scrape(t, s.Gateway.URL(), series) == 1 {
			ejectedIn = time.Since(stopped)
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotZero(t, ejectedIn, "ejected within 5s of SIGSTOP")
	rs := <-results
	late := loadtest.Select(rs, func(r loadtest.Result) bool { return r.At > time.Second+ejectedIn+time.Second })
	require.NotEmpty(t, late)
	if !assert.Less(t, loadtest.Quantile(late, 0.95), 400*time.Millisecond) {
		for _, r := range loadtest.Select(late, func(r loadtest.Result) bool { return r.Latency > 300*time.Millisecond }) {
			t.Logf("slow: sent at %v took %v", r.At, r.Latency)
		}
	}
	// Streams the victim was sending when it stopped are cut by the
	// gateway's stream idle timeout: bytes were sent, so no retry can save
	// them. Every other answer must be whole and not degraded.
	bad := loadtest.Select(rs, func(r loadtest.Result) bool {
		inFlight := r.At > stopAt-300*time.Millisecond && r.At <= stopAt
		return (r.Degraded || r.Status != 200 || !strings.Contains(r.Body, "[DONE]")) && !inFlight
	})
	for _, r := range bad {
		t.Logf("bad answer: sent at %v, %v, status %d, degraded %v: %.200s", r.At, r.Latency, r.Status, r.Degraded, r.Body)
	}
	assert.Empty(t, bad)
	assert.Equal(t, 0.0, scrape(t, s.Gateway.URL(), `gateway_breaker_state{upstream="primary"}`))
	t.Logf("ejected %v after SIGSTOP; p95 afterwards %v", ejectedIn, loadtest.Quantile(late, 0.95))
}
