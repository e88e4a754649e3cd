package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSSEPassesThroughUnchangedWithNoFault: the stream comes through byte
// for byte, and the headers and the first event reach the client while the
// upstream still holds the rest back (the route streams, it does not
// buffer). How soon they come is BenchmarkSSEFirstEvent's figure.
func TestSSEPassesThroughUnchangedWithNoFault(t *testing.T) {
	up, release := heldSSEUpstream(t, 5)
	direct, err := http.Get(up.URL + "/s")
	require.NoError(t, err)
	want, _ := io.ReadAll(direct.Body)
	direct.Body.Close()
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	// A route that buffered the stream would never answer while the
	// upstream holds it: the deadline fails the test instead of hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+rt.Addr()+"/s?hold=1", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "headers while the upstream holds the stream")
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	first, err := br.ReadString('\n')
	require.NoError(t, err, "the first event while the upstream holds the stream")
	assert.Equal(t, "data: {\"i\":0}\n", first)
	release()
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, string(want), first+string(rest))
}

// heldSSEUpstream streams n events like sseUpstream; with ?hold=1 it sends
// the first one and holds the rest until release is called (at the latest
// at cleanup, before the server closes).
func heldSSEUpstream(tb testing.TB, n int) (srv *httptest.Server, release func()) {
	tb.Helper()
	held := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(held) }) }
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
			fl.Flush()
			if i == 0 && r.URL.Query().Get("hold") == "1" {
				<-held
			}
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	tb.Cleanup(srv.Close)
	tb.Cleanup(release) // cleanups run last-in first-out: release, then close
	return srv, release
}

// TestFaultDecidedPerRequestOnKeepAlive: a fault added after a keep-alive
// connection was opened hits the next request on that same connection,
// and rollback frees it again.
func TestFaultDecidedPerRequestOnKeepAlive(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	get := func() (int, bool) {
		reused := false
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+rt.Addr()+"/plain", nil)
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, reused
	}
	code, _ := get()
	require.Equal(t, 200, code)
	id, err := rt.Add(spec("http-error", `{"status":503,"retry_after":"2s"}`))
	require.NoError(t, err)
	code, reused := get()
	assert.True(t, reused, "same keep-alive connection")
	assert.Equal(t, 503, code)
	require.NoError(t, rt.Remove(id))
	code, reused = get()
	assert.True(t, reused)
	assert.Equal(t, 200, code)
	assert.NoError(t, rt.Remove(id), "removing twice is not an error")
}

func TestHTTPFaultKinds(t *testing.T) {
	up := sseUpstream(t, 6)
	tests := []struct {
		name, kind, params string
		header             http.Header
		check              func(t *testing.T, resp *http.Response, err error, took time.Duration)
	}{
		{"latency delays", "latency", `{"delay":"150ms"}`, nil, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 150*time.Millisecond)
		}},
		{"ttfb holds the first byte", "ttfb", `{"delay":"200ms"}`, nil, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 200*time.Millisecond)
			ev, err := events(resp.Body)
			assert.NoError(t, err)
			assert.Len(t, ev, 7)
		}},
		{"http-error 429 with Retry-After", "http-error", `{"status":429,"retry_after":"1500ms"}`, nil, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			assert.Equal(t, 429, resp.StatusCode)
			assert.Equal(t, "2", resp.Header.Get("Retry-After"))
			var v map[string]any
			assert.NoError(t, json.NewDecoder(resp.Body).Decode(&v))
		}},
		{"http-error malformed JSON", "http-error", `{"status":200,"corrupt":"malformed"}`, nil, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
			b, err := io.ReadAll(resp.Body)
			assert.NoError(t, err)
			assert.False(t, json.Valid(b))
		}},
		{"http-error truncated JSON", "http-error", `{"status":500,"corrupt":"truncated"}`, nil, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			_, err = io.ReadAll(resp.Body)
			assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		}},
		{"header match spares others", "http-error", `{"status":503,"headers":{"X-Priority":"low"}}`, http.Header{"X-Priority": {"high"}}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			assert.Equal(t, 200, resp.StatusCode)
		}},
		{"header match hits", "http-error", `{"status":503,"headers":{"X-Priority":"low"},"method":"get","path":"/s"}`, http.Header{"X-Priority": {"low"}}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			assert.Equal(t, 503, resp.StatusCode)
		}},
		{"stream-stall pauses after 2 events", "stream-stall", `{"after":2,"for":"300ms"}`, nil, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			require.NoError(t, err)
			start := time.Now()
			ev, err := events(resp.Body)
			assert.NoError(t, err)
			assert.Len(t, ev, 7)
			assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		}},
		{"stream-cut after 3 events", "stream-cut", `{"after":3}`, nil, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			require.NoError(t, err)
			ev, err := events(resp.Body)
			assert.Error(t, err, "the stream ends with an error, not cleanly")
			assert.Equal(t, []string{`{"i":0}`, `{"i":1}`, `{"i":2}`}, ev)
		}},
		{"slow-tokens delays each event", "slow-tokens", `{"delay":"50ms"}`, nil, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			require.NoError(t, err)
			start := time.Now()
			ev, err := events(resp.Body)
			assert.NoError(t, err)
			assert.Len(t, ev, 7)
			assert.GreaterOrEqual(t, time.Since(start)+took, 7*50*time.Millisecond)
		}},
		{"jitter delays up to its amount", "jitter", `{"jitter":"30ms","delay":"20ms"}`, nil, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 20*time.Millisecond)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
			id, err := rt.Add(spec(tc.kind, tc.params))
			require.NoError(t, err)
			req, _ := http.NewRequest(http.MethodGet, "http://"+rt.Addr()+"/s", nil)
			for k, v := range tc.header {
				req.Header[k] = v
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			tc.check(t, resp, err, time.Since(start))
			if resp != nil {
				resp.Body.Close()
			}
			require.NoError(t, rt.Remove(id))
			resp, err = http.Get("http://" + rt.Addr() + "/s")
			require.NoError(t, err, "after rollback")
			ev, err := events(resp.Body)
			resp.Body.Close()
			assert.NoError(t, err)
			assert.Len(t, ev, 7, "after rollback the stream is whole")
			assert.Equal(t, 200, resp.StatusCode)
		})
	}
}

func TestFailFirstFailsExactlyN(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	_, err := rt.Add(spec("fail-first", `{"count":2,"status":503}`))
	require.NoError(t, err)
	var codes []int
	for i := 0; i < 4; i++ {
		resp, err := http.Get("http://" + rt.Addr() + "/plain")
		require.NoError(t, err)
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	assert.Equal(t, []int{503, 503, 200, 200}, codes)
}

func TestAddRejectsBadSpecs(t *testing.T) {
	rt := startRoute(t, ModeHTTP, "127.0.0.1:1")
	for _, tc := range []struct{ name, kind, params, want string }{
		{"unknown kind", "lag", `{}`, "unknown fault kind"},
		{"L4 kind on http route", "bandwidth", `{"rate_kb":1}`, "L4 fault"},
		{"unknown param", "latency", `{"delay":"1s","dealy":"2s"}`, "unknown field"},
		{"share above 100%", "latency", `{"share":"150%"}`, "out of range"},
		{"bad status", "http-error", `{"status":200}`, "out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rt.Add(spec(tc.kind, tc.params))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, rt.Faults(), "nothing half-applied")
		})
	}
}

func TestListenAddressInUse(t *testing.T) {
	rt := startRoute(t, ModeHTTP, "127.0.0.1:1")
	_, err := Start(Options{Name: "other", Listen: rt.Addr(), Upstream: "127.0.0.1:1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	_, ok := Lookup("other")
	assert.False(t, ok)
}

// TestStreamStallAtZeroHoldsTheHeaders: a stall before the first event
// holds the status line too, so a gateway's first-byte timeout sees it.
func TestStreamStallAtZeroHoldsTheHeaders(t *testing.T) {
	up := sseUpstream(t, 2)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	_, err := rt.Add(spec("stream-stall", `{"after":0,"for":"300ms"}`))
	require.NoError(t, err)
	start := time.Now()
	resp, err := http.Get("http://" + rt.Addr() + "/s")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
}
