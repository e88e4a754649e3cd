// Package gateway is the example stack's system under test: an inference
// gateway in front of N primary model replicas and one fallback, with a
// circuit breaker per upstream, timeouts, budgeted retries with jittered
// backoff, least-connections balancing with passive ejection, fallback
// marked as degraded, and priority-aware load shedding. Each behaviour can
// be switched off (Config.No…) so experiments can show their checks fail.
package gateway

import (
	"bytes"
	"context"
	"fmt"
	"github.com/chaos-sre/chaos/examples/internal/cli"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Gateway is the gateway's http.Handler: /v1/chat/completions, /healthz and
// /metrics.
type Gateway struct {
	cfg             Config
	pool            *Pool
	primaryBreaker  *Breaker
	fallbackBreaker *Breaker
	budget          *RetryBudget
	bucket          *TokenBucket
	client          *http.Client
	transport       *http.Transport
	inflight        atomic.Int64
	m               *metrics
	mux             *http.ServeMux
}

// New validates cfg and builds a gateway.
func New(cfg Config) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bc := BreakerConfig{Window: cfg.BreakerWindow, Threshold: cfg.BreakerThreshold,
		MinRequests: cfg.BreakerMinRequests, OpenFor: cfg.BreakerOpenFor, Probes: cfg.BreakerProbes}
	ejectAfter := cfg.EjectAfter
	if cfg.NoEjection {
		ejectAfter = 0
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		ResponseHeaderTimeout: cfg.FirstByteTimeout,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       60 * time.Second,
		DisableCompression:    true,
	}
	g := &Gateway{cfg: cfg, pool: NewPool(cfg.Primary, ejectAfter, cfg.EjectFor),
		primaryBreaker:  NewBreaker(bc, cfg.NoBreaker),
		fallbackBreaker: NewBreaker(bc, cfg.NoBreaker),
		budget:          NewRetryBudget(cfg.RetryBudget, cfg.RetryMinPerSec, 10*time.Second, cfg.NoRetryBudget),
		bucket:          NewTokenBucket(cfg.Rate, float64(cfg.Burst), cfg.LowReserve),
		transport:       tr, client: &http.Client{Transport: tr}, mux: http.NewServeMux()}
	g.m = newMetrics(g)
	g.mux.HandleFunc("POST /v1/chat/completions", g.chat)
	g.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	g.mux.Handle("GET /metrics", promhttp.HandlerFor(g.m.reg, promhttp.HandlerOpts{}))
	return g, nil
}

// ServeHTTP routes a request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }

// Close drops idle upstream connections.
func (g *Gateway) Close() { g.transport.CloseIdleConnections() }

// BreakerState reports the breaker of "primary" or "fallback".
func (g *Gateway) BreakerState(upstream string) BreakerState {
	if upstream == "fallback" {
		return g.fallbackBreaker.State()
	}
	return g.primaryBreaker.State()
}

func (g *Gateway) ejectedCount() int {
	n := 0
	for _, r := range g.pool.Replicas {
		if g.pool.Ejected(r) {
			n++
		}
	}
	return n
}

func (g *Gateway) chat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	class := "low"
	if strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Priority")), "high") {
		class = "high"
	}
	g.inflight.Add(1)
	outcome := "error"
	defer func() {
		g.inflight.Add(-1)
		g.m.requests.WithLabelValues(class, outcome).Inc()
		g.m.duration.WithLabelValues(class).Observe(time.Since(start).Seconds())
	}()
	if !g.cfg.NoShedding && !g.bucket.Allow(class == "high") {
		outcome = "shed"
		g.m.shed.WithLabelValues(class).Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusTooManyRequests, "shed: over the admission rate for "+class+" priority", "rate_limited")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 4<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error(), "invalid_request_error")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.RequestTimeout)
	defer cancel()
	g.budget.Request()
	resp, done, why := g.tryPrimary(ctx, r.Header, body)
	if resp != nil {
		res := relay(w, resp, false, g.cfg.StreamIdle)
		if res == relayed && resp.StatusCode < 400 {
			outcome = "ok"
		}
		done(res)
		return
	}
	if r.Context().Err() != nil {
		return // the client left; nobody reads an answer
	}
	if g.cfg.NoFallback || g.cfg.Fallback == "" {
		writeError(w, http.StatusServiceUnavailable, "primary unavailable: "+why, "unavailable")
		return
	}
	resp, err = g.tryFallback(ctx, r.Header, body)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable,
			fmt.Sprintf("primary unavailable (%s) and fallback failed: %v", why, err), "unavailable")
		return
	}
	g.m.degraded.Inc()
	outcome = "degraded"
	relay(w, resp, true, g.cfg.StreamIdle)
}

// tryPrimary sends the request to the primary pool with retries. It returns
// the answer to relay and a func to call once relayed, or nil and why not.
func (g *Gateway) tryPrimary(ctx context.Context, hdr http.Header, body []byte) (*http.Response, func(relayResult), string) {
	tried := map[*Replica]bool{}
	why := "no attempt"
	var retryAfter time.Duration
	for n := 0; n <= g.cfg.Retries; n++ {
		if n > 0 {
			if !g.budget.TryRetry() {
				return nil, nil, why + "; retry budget exhausted"
			}
			wait := Backoff(n, g.cfg.BackoffBase, g.cfg.BackoffMax)
			if ra := min(retryAfter, g.cfg.BackoffMax); ra > wait {
				wait = ra
			}
			if !cli.Sleep(ctx, wait) {
				return nil, nil, why + "; request timeout"
			}
		}
		ok, probe := g.primaryBreaker.Allow()
		if !ok {
			return nil, nil, joinWhy(why, "breaker open")
		}
		rep := g.pool.Pick(tried, probe)
		if rep == nil {
			// No replica left to try is the pool failing: the breaker counts
			// it, so a pool that ejected every replica opens the breaker
			// (and fails fast) rather than leaving it to ejection alone.
			g.primaryBreaker.Report(false, probe)
			return nil, nil, joinWhy(why, "all replicas ejected")
		}
		tried[rep] = true
		if n > 0 {
			g.m.retries.Inc()
		}
		g.m.attempts.WithLabelValues("primary").Inc()
		resp, err := g.send(ctx, rep.Addr, hdr, body)
		if err != nil && ctx.Err() == context.Canceled {
			g.pool.Release(rep)
			g.primaryBreaker.Release(probe)
			return nil, nil, "client went away"
		}
		failed := err != nil || failure(resp.StatusCode)
		g.primaryBreaker.Report(!failed, probe)
		if !failed {
			if probe {
				g.pool.Readmit(rep)
			}
			return resp, func(r relayResult) {
				switch r {
				case relayed:
					g.pool.Done(rep, true)
				case upstreamBroke:
					g.pool.Done(rep, false)
				default:
					g.pool.Release(rep)
				}
			}, ""
		}
		g.pool.Done(rep, false)
		if err != nil {
			why = fmt.Sprintf("%s: %v", rep.Addr, err)
			continue
		}
		why = fmt.Sprintf("%s answered %d", rep.Addr, resp.StatusCode)
		retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		busy := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if busy && !g.cfg.NoFallback && g.cfg.Fallback != "" {
			return nil, nil, why + " (busy)"
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, nil, why
}

// tryFallback sends the request once to the fallback upstream.
func (g *Gateway) tryFallback(ctx context.Context, hdr http.Header, body []byte) (*http.Response, error) {
	ok, probe := g.fallbackBreaker.Allow()
	if !ok {
		return nil, fmt.Errorf("fallback breaker open")
	}
	g.m.attempts.WithLabelValues("fallback").Inc()
	resp, err := g.send(ctx, g.cfg.Fallback, hdr, body)
	if err != nil && ctx.Err() == context.Canceled {
		g.fallbackBreaker.Release(probe)
		return nil, err
	}
	failed := err != nil || failure(resp.StatusCode)
	g.fallbackBreaker.Report(!failed, probe)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", g.cfg.Fallback, err)
	}
	if failed {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		return nil, fmt.Errorf("%s answered %d", g.cfg.Fallback, resp.StatusCode)
	}
	return resp, nil
}

func (g *Gateway) send(ctx context.Context, addr string, hdr http.Header, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, h := range []string{"Content-Type", "Accept", "Authorization", "X-Request-Id", "X-Priority"} {
		if v := hdr.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	return g.client.Do(req)
}

// failure is what counts against a breaker and a replica: 5xx and 429.
func failure(status int) bool { return status >= 500 || status == http.StatusTooManyRequests }

func joinWhy(prev, now string) string {
	if prev == "no attempt" {
		return now
	}
	return prev + "; then " + now
}

// parseRetryAfter reads delay-seconds (HTTP dates are not worth it here).
func parseRetryAfter(v string) time.Duration {
	s, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || s < 0 {
		return 0
	}
	return time.Duration(s) * time.Second
}
