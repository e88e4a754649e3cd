package model_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/model"
)

func serve(t *testing.T, edit func(*model.Config)) string {
	t.Helper()
	cfg := model.DefaultConfig()
	cfg.TTFT, cfg.TokenDelay = time.Millisecond, 0
	if edit != nil {
		edit(&cfg)
	}
	m, err := model.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return srv.URL
}

func chat(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestChatCompletion(t *testing.T) {
	url := serve(t, func(c *model.Config) { c.Name = "small" })
	resp, body := chat(t, url, `{"model":"x","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var m struct {
		Object, Model string
		Choices       []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &m))
	assert.Equal(t, "chat.completion", m.Object)
	assert.Equal(t, "small", m.Model)
	require.Len(t, m.Choices, 1)
	assert.Equal(t, "assistant", m.Choices[0].Message.Role)
	assert.Equal(t, "The quick brown fox ", m.Choices[0].Message.Content)
	assert.Equal(t, "stop", m.Choices[0].FinishReason)
	assert.Equal(t, 4, m.Usage.CompletionTokens)
}

func TestChatStream(t *testing.T) {
	url := serve(t, func(c *model.Config) { c.Tokens = 5 })
	resp, body := chat(t, url, `{"stream":true,"max_tokens":50}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	events := strings.Split(strings.TrimSuffix(body, "\n\n"), "\n\n")
	require.Len(t, events, 6, "tokens capped by --tokens, then [DONE]")
	assert.Equal(t, "data: [DONE]", events[5])
	var text string
	for _, ev := range events[:5] {
		var c struct {
			Object  string
			Choices []struct{ Delta struct{ Content string } }
		}
		require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(ev, "data: ")), &c))
		assert.Equal(t, "chat.completion.chunk", c.Object)
		text += c.Choices[0].Delta.Content
	}
	assert.Equal(t, "The quick brown fox jumps ", text)
}

func TestBusyWhenSaturated(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		url := serve(t, func(c *model.Config) {
			c.TTFT, c.Concurrency, c.Queue, c.BusyStatus, c.RetryAfter = 300*time.Millisecond, 1, 1, status, 2*time.Second
		})
		var wg sync.WaitGroup
		for range 2 { // one generating, one queued
			wg.Go(func() { chat(t, url, `{}`) })
		}
		time.Sleep(100 * time.Millisecond)
		resp, body := chat(t, url, `{}`)
		assert.Equal(t, status, resp.StatusCode)
		assert.Equal(t, "2", resp.Header.Get("Retry-After"))
		assert.JSONEq(t, `{"error":{"message":"server busy","type":"overloaded","code":`+
			map[int]string{503: "503", 429: "429"}[status]+`}}`, body)
		wg.Wait()
		resp, _ = chat(t, url, `{}`)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "free again")
	}
}

func TestMetricsAndHealth(t *testing.T) {
	url := serve(t, nil)
	chat(t, url, `{"max_tokens":3}`)
	chat(t, url, `not json`)
	resp, err := http.Get(url + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	resp, err = http.Get(url + "/metrics")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`model_requests_total{status="200"} 1`, `model_requests_total{status="400"} 1`,
		"model_tokens_total 3", "model_inflight 0", "model_queue_depth 0"} {
		assert.Contains(t, string(b), want+"\n")
	}
	assert.NotContains(t, string(b), "go_goroutines", "private registry")
}

func TestMainFlagsEnvAndHealthcheck(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Setenv("MODEL_NAME", "from-env")
	t.Setenv("MODEL_TTFT", "1ms")
	r, w := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- model.Main(ctx, []string{"--tokens", "2"}, w, &stderr) }()
	line := make([]byte, 64)
	n, err := r.Read(line)
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, r) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(line[:n])), "listening on ")
	require.True(t, ok, string(line[:n]))
	_, body := chat(t, "http://"+addr, `{}`)
	assert.Contains(t, body, `"model":"from-env"`)
	assert.Contains(t, body, `"completion_tokens":2`)

	assert.Equal(t, 0, model.Main(ctx, []string{"healthcheck", "http://" + addr + "/healthz"}, io.Discard, io.Discard))
	assert.Equal(t, 0, model.Main(ctx, []string{"--check", "http://" + addr + "/healthz"}, io.Discard, io.Discard))
	assert.Equal(t, 0, model.Main(ctx, []string{"healthcheck", "--listen", addr}, io.Discard, io.Discard))
	assert.Equal(t, 1, model.Main(ctx, []string{"--check", "http://" + addr + "/nope"}, io.Discard, io.Discard))
	cancel()
	assert.Equal(t, 0, <-done, stderr.String())
	assert.Equal(t, 1, model.Main(context.Background(), []string{"healthcheck", "--listen", addr}, io.Discard, io.Discard))

	var errb bytes.Buffer
	assert.Equal(t, 2, model.Main(context.Background(), []string{"--busy-status", "500"}, io.Discard, &errb))
	assert.Contains(t, errb.String(), "busy-status 500: must be 503 or 429")
	t.Setenv("MODEL_TOKENS", "many")
	errb.Reset()
	assert.Equal(t, 2, model.Main(context.Background(), nil, io.Discard, &errb))
	assert.Contains(t, errb.String(), `MODEL_TOKENS="many"`)
}

func TestMaxConnsAnswersBusyWhenExhausted(t *testing.T) {
	cfg := model.DefaultConfig()
	cfg.TTFT, cfg.TokenDelay, cfg.MaxConns = time.Millisecond, 0, 4
	m, err := model.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(m)
	srv.Config.ConnState = m.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	body := `{"model":"primary","messages":[{"role":"user","content":"hi"}]}`

	resp, _ := chat(t, srv.URL, body)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "under the cap")

	var held []net.Conn
	for i := 0; i < 6; i++ { // idle connections, as the exhaust fault holds them
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		require.NoError(t, err)
		held = append(held, c)
	}
	assert.Eventually(t, func() bool {
		resp, out := chat(t, srv.URL, body)
		return resp.StatusCode == http.StatusServiceUnavailable && strings.Contains(out, "too many connections") && resp.Header.Get("Retry-After") == "1"
	}, 5*time.Second, 10*time.Millisecond, "past the cap every request is busy")

	for _, c := range held {
		require.NoError(t, c.Close())
	}
	assert.Eventually(t, func() bool {
		resp, _ := chat(t, srv.URL, body)
		return resp.StatusCode == http.StatusOK
	}, 5*time.Second, 10*time.Millisecond, "served again once the connections are gone")
}
