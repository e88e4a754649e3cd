package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
)

func post(t *testing.T, base string, stream bool) (*http.Response, string) {
	t.Helper()
	body := `{"model":"primary","max_tokens":3,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
		`,"messages":[{"role":"user","content":"hi"}]}`
	resp, err := http.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

// sseChunks returns the JSON objects of an SSE body and whether it ended
// with [DONE].
func sseChunks(t *testing.T, body string) ([]map[string]any, bool) {
	t.Helper()
	var out []map[string]any
	done := false
	for _, ev := range strings.Split(strings.TrimSpace(body), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		require.True(t, ok, "event %q", ev)
		if data == "[DONE]" {
			done = true
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(data), &m), data)
		out = append(out, m)
	}
	return out, done
}

func fallbackConfig(primaries ...string) gateway.Config {
	cfg := gateway.DefaultConfig()
	cfg.Primary = primaries
	return cfg
}

func TestPrimaryAnswersAreNotDegraded(t *testing.T) {
	cfg := fallbackConfig(startModel(t, "primary", nil, nil))
	cfg.Fallback = startModel(t, "fallback", nil, nil)
	base, _ := startGateway(t, cfg)

	resp, body := post(t, base, false)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "false", resp.Header.Get("X-Degraded"))
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, "primary", m["model"])
	assert.NotContains(t, m, "degraded")

	resp, body = post(t, base, true)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	chunks, done := sseChunks(t, body)
	assert.True(t, done)
	require.Len(t, chunks, 3)
	assert.NotContains(t, chunks[2], "degraded")
}

func TestFallbackWhenPrimaryDown(t *testing.T) {
	f := &fault{}
	f.mode.Store(erroring)
	// One replica answers 500, the other refuses connections.
	cfg := fallbackConfig(startModel(t, "primary", f, nil), "127.0.0.1:1")
	cfg.Fallback = startModel(t, "fallback", nil, nil)
	base, _ := startGateway(t, cfg)

	resp, body := post(t, base, false)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "true", resp.Header.Get("X-Degraded"))
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, true, m["degraded"])
	assert.Equal(t, "fallback", m["model"])
	assert.Contains(t, m, "choices")

	resp, body = post(t, base, true)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Equal(t, "true", resp.Header.Get("X-Degraded"))
	chunks, done := sseChunks(t, body)
	assert.True(t, done, "ends with [DONE]")
	require.Len(t, chunks, 3)
	for _, c := range chunks {
		assert.Equal(t, true, c["degraded"])
		assert.Equal(t, "fallback", c["model"])
	}
	assert.Equal(t, "stop", chunks[2]["choices"].([]any)[0].(map[string]any)["finish_reason"])
	assert.Equal(t, 2.0, metric(t, base, "gateway_degraded_total"))
	assert.Equal(t, 2.0, metric(t, base, `gateway_requests_total{class="low",outcome="degraded"}`))
}

func TestNoFallbackAnswers503(t *testing.T) {
	f := &fault{}
	f.mode.Store(erroring)
	cfg := fallbackConfig(startModel(t, "primary", f, nil))
	cfg.Fallback = startModel(t, "fallback", nil, nil)
	require.NoError(t, cfg.SetVariant("no-fallback"))
	base, _ := startGateway(t, cfg)

	for _, stream := range []bool{false, true} {
		resp, body := post(t, base, stream)
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, body)
		assert.Empty(t, resp.Header.Get("X-Degraded"))
		var m struct {
			Error struct{ Message, Type string }
		}
		require.NoError(t, json.Unmarshal([]byte(body), &m), body)
		assert.Contains(t, m.Error.Message, "primary unavailable")
	}
	assert.Equal(t, 0.0, metric(t, base, "gateway_degraded_total"))
	assert.Equal(t, 2.0, metric(t, base, `gateway_requests_total{class="low",outcome="error"}`))
}

func TestNoFallbackWhenFallbackUnreachable(t *testing.T) {
	f := &fault{}
	f.mode.Store(erroring)
	cfg := fallbackConfig(startModel(t, "primary", f, nil))
	cfg.Fallback = "127.0.0.1:1"
	base, _ := startGateway(t, cfg)
	resp, body := post(t, base, false)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Contains(t, body, "fallback failed")
}
