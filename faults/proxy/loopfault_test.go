package proxy

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip sends one raw request on c and reads its answer.
func exchange(t *testing.T, c io.Writer, br *bufio.Reader, raw, method string) (*http.Response, string) {
	t.Helper()
	_, err := io.WriteString(c, raw)
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// TestLoopShareAlternatesPerRequest: with an http-error of share 50% on,
// the requests of one keep-alive connection are failed or passed exactly
// as the fault's seeded draws say, one draw per request, and none leaves
// the event loop.
func TestLoopShareAlternatesPerRequest(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	_, err := rt.Add(Spec{Kind: "http-error", Params: []byte(`{"status":503,"share":"50%"}`), Seed: 7})
	require.NoError(t, err)
	want := NewChance(0.5, 7)
	c := dial(t, rt)
	br := bufio.NewReader(c)
	var got, expect []int
	for i := range 40 {
		raw := "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"
		if i%3 == 0 { // a body the proxy must drop when it answers itself
			raw = "POST /plain HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody"
		}
		resp, body := exchange(t, c, br, raw, "GET")
		got = append(got, resp.StatusCode)
		if want.Hit() {
			expect = append(expect, 503)
			assert.Contains(t, body, "injected_by")
			assert.Equal(t, "http-error", resp.Header.Get("X-Chaos-Fault"))
		} else {
			expect = append(expect, 200)
			assert.Equal(t, `{"ok":true}`, body)
		}
	}
	assert.Equal(t, expect, got)
	assert.Contains(t, got, 200)
	assert.Contains(t, got, 503)
	assert.Equal(t, int64(0), rt.chained.Load(), "every request was decided on the event loop")
	assert.Equal(t, int64(40), rt.requests.Load())
}

// TestLoopMatchesLikeTheChain: path, method and header matches decided from
// the raw head agree with Match.OK on parsed requests.
func TestLoopMatchesLikeTheChain(t *testing.T) {
	m := Match{Path: "/v1/chat", Method: "POST", Headers: map[string]string{"X-Priority": "low"}}
	for _, tc := range []struct {
		name, head string
		want       bool
	}{
		{"all match", "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: x\r\nx-priority:  low \r\n\r\n", true},
		{"escaped path", "POST /v1/%63hat HTTP/1.1\r\nHost: x\r\nX-Priority: low\r\n\r\n", true},
		{"other path", "POST /v2/chat HTTP/1.1\r\nHost: x\r\nX-Priority: low\r\n\r\n", false},
		{"other method", "GET /v1/chat HTTP/1.1\r\nHost: x\r\nX-Priority: low\r\n\r\n", false},
		{"first header counts", "POST /v1/chat HTTP/1.1\r\nX-Priority: high\r\nX-Priority: low\r\n\r\n", false},
		{"no header", "POST /v1/chat HTTP/1.1\r\nHost: x\r\n\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq := newRawRequest([]byte(tc.head))
			require.True(t, rq.ok)
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(tc.head)))
			require.NoError(t, err)
			assert.Equal(t, m.OK(r), m.okRaw(&rq), "agrees with Match.OK")
			assert.Equal(t, tc.want, m.okRaw(&rq))
		})
	}
}

// TestLoopServesDelaysAndAnswers: latency, ttfb, http-error (HEAD too) and
// fail-first are served by the loop on one keep-alive connection, and the
// connection goes on unharmed once they are removed.
func TestLoopServesDelaysAndAnswers(t *testing.T) {
	up := sseUpstream(t, 2)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	br := bufio.NewReader(c)
	get := "GET /s HTTP/1.1\r\nHost: x\r\n\r\n"
	for _, sp := range []Spec{spec("latency", `{"delay":"20ms"}`), spec("ttfb", `{"delay":"20ms"}`), spec("jitter", `{"delay":"5ms","jitter":"5ms"}`)} {
		id, err := rt.Add(sp)
		require.NoError(t, err)
		resp, body := exchange(t, c, br, get, "GET")
		assert.Equal(t, 200, resp.StatusCode, sp.Kind)
		assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), "%s: the stream is whole", sp.Kind)
		require.NoError(t, rt.Remove(id))
	}
	id, err := rt.Add(spec("http-error", `{"status":429,"retry_after":"1500ms"}`))
	require.NoError(t, err)
	resp, _ := exchange(t, c, br, "HEAD /s HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD")
	assert.Equal(t, 429, resp.StatusCode)
	assert.Equal(t, "2", resp.Header.Get("Retry-After"))
	require.NoError(t, rt.Remove(id))
	_, err = rt.Add(spec("fail-first", `{"count":1,"status":500}`))
	require.NoError(t, err)
	resp, _ = exchange(t, c, br, get, "GET")
	assert.Equal(t, 500, resp.StatusCode)
	resp, body := exchange(t, c, br, get, "GET")
	assert.Equal(t, 200, resp.StatusCode)
	assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"))
	assert.Equal(t, int64(0), rt.chained.Load(), "all on the event loop")
}

// TestConnectionReturnsToTheLoop: a request a stream fault matches is lent
// to the fault chain and the keep-alive connection comes back to the event
// loop after it: a request the fault does not match, and every request
// after the fault's rollback, is served by the loop again.
func TestConnectionReturnsToTheLoop(t *testing.T) {
	up := sseUpstream(t, 3)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	br := bufio.NewReader(c)
	get := func(path string) (int, string) {
		resp, body := exchange(t, c, br, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
		return resp.StatusCode, body
	}
	_, _ = get("/plain")
	id, err := rt.Add(spec("stream-cut", `{"after":9,"path":"/s"}`)) // matches /s, cuts nothing: 4 events
	require.NoError(t, err)
	for i := range 3 {
		code, body := get("/s")
		assert.Equal(t, 200, code)
		assert.True(t, strings.HasSuffix(body, "data: [DONE]\n\n"), "lent request %d answered whole: %q", i, body)
		assert.Equal(t, int64(i+1), rt.chained.Load(), "the matched request went through the chain")
		code, body = get("/plain")
		assert.Equal(t, 200, code)
		assert.Equal(t, `{"ok":true}`, body)
		assert.Equal(t, int64(i+1), rt.returns.Load(), "the connection came back")
		assert.Equal(t, int64(i+1), rt.chained.Load(), "the unmatched request stayed on the loop")
	}
	require.NoError(t, rt.Remove(id))
	code, _ := get("/s")
	assert.Equal(t, 200, code)
	assert.Equal(t, int64(3), rt.chained.Load(), "after rollback the loop serves it")
	assert.Equal(t, int64(8), rt.requests.Load())

	// a cut stream ends the connection; a new one is served by the loop
	_, err = rt.Add(spec("stream-cut", `{"after":1}`))
	require.NoError(t, err)
	_, err = io.WriteString(c, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	assert.Error(t, err, "cut mid-answer")
	require.Eventually(t, func() bool { return tracked(rt) == 0 }, 2*time.Second, 10*time.Millisecond, "the cut connection was let go")
}

// TestLentRequestsKeepPipelinedBytes: bytes of the next request read with
// a lent one go back to the loop with the connection.
func TestLentRequestsKeepPipelinedBytes(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	_, err := rt.Add(spec("slow-tokens", `{"delay":"1ms","path":"/s"}`))
	require.NoError(t, err)
	c := dial(t, rt)
	_, err = io.WriteString(c, "POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	for _, want := range []string{"data: [DONE]\n\n", `{"ok":true}`, "data: [DONE]\n\n"} {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(string(b), want), "%q", b)
	}
	assert.Equal(t, int64(2), rt.chained.Load())
	assert.Equal(t, int64(3), rt.requests.Load())
}
