// Package model is an OpenAI-compatible mock model server: the upstream the
// example gateway protects. It answers /v1/chat/completions with a
// configurable time-to-first-token and per-token delay, streams SSE, limits
// concurrency with a small queue and answers "server busy" (503 or 429 with
// Retry-After) when both are full, like a saturated inference server.
package model

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/chaos-sre/chaos/examples/internal/cli"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the behaviour of one model server.
type Config struct {
	Name        string        // reported as "model" in every answer
	TTFT        time.Duration // time to first token
	TokenDelay  time.Duration // delay between tokens
	Tokens      int           // tokens per answer; a request's max_tokens caps it
	Concurrency int           // requests generating at once
	Queue       int           // requests waiting for a slot before "busy"
	BusyStatus  int           // 503 or 429
	RetryAfter  time.Duration // sent as whole seconds with a busy answer
	// MaxConns caps open client connections, as uvicorn's
	// --limit-concurrency does: past it every request is answered busy. 0 is
	// no cap. Connections exhausted by idle or slowloris clients count.
	MaxConns int
}

// DefaultConfig is the configuration the flags default to.
func DefaultConfig() Config {
	return Config{Name: "primary", TTFT: 50 * time.Millisecond, TokenDelay: 5 * time.Millisecond,
		Tokens: 16, Concurrency: 8, Queue: 8, BusyStatus: http.StatusServiceUnavailable, RetryAfter: time.Second}
}

// Validate says which field is out of range.
func (c Config) Validate() error {
	switch {
	case c.Concurrency < 1:
		return fmt.Errorf("concurrency %d: must be at least 1", c.Concurrency)
	case c.MaxConns < 0:
		return fmt.Errorf("max-conns %d: must be 0 (no cap) or more", c.MaxConns)
	case c.Queue < 0:
		return fmt.Errorf("queue %d: must be 0 or more", c.Queue)
	case c.Tokens < 1:
		return fmt.Errorf("tokens %d: must be at least 1", c.Tokens)
	case c.BusyStatus != http.StatusServiceUnavailable && c.BusyStatus != http.StatusTooManyRequests:
		return fmt.Errorf("busy-status %d: must be 503 or 429", c.BusyStatus)
	case c.TTFT < 0 || c.TokenDelay < 0 || c.RetryAfter < 0:
		return fmt.Errorf("ttft, token-delay and retry-after must not be negative")
	}
	return nil
}

// Server is a model server; it is an http.Handler.
type Server struct {
	cfg     Config
	slots   chan struct{}
	queued  atomic.Int64
	mux     *http.ServeMux
	reqs    *prometheus.CounterVec
	flight  prometheus.Gauge
	qdepth  prometheus.Gauge
	tokens  prometheus.Counter
	counter atomic.Uint64
	conns   atomic.Int64 // open client connections
}

// ConnState counts open client connections (cli.Serve wires it to the
// http.Server) for the MaxConns cap.
func (s *Server) ConnState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.conns.Add(-1)
	}
}

// New builds a server with its own Prometheus registry.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, slots: make(chan struct{}, cfg.Concurrency), mux: http.NewServeMux()}
	reg := prometheus.NewRegistry()
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "model_requests_total",
		Help: "Chat completion requests by HTTP status."}, []string{"status"})
	s.flight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "model_inflight", Help: "Requests generating now."})
	s.qdepth = prometheus.NewGauge(prometheus.GaugeOpts{Name: "model_queue_depth", Help: "Requests waiting for a slot."})
	s.tokens = prometheus.NewCounter(prometheus.CounterOpts{Name: "model_tokens_total", Help: "Tokens generated."})
	reg.MustRegister(s.reqs, s.flight, s.qdepth, s.tokens)
	s.mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	})
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return s, nil
}

// ServeHTTP routes to the chat, health and metrics endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// ChatRequest is the part of an OpenAI chat completion request the mock reads.
type ChatRequest struct {
	Model     string `json:"model"`
	Stream    bool   `json:"stream"`
	MaxTokens int    `json:"max_tokens"`
	Messages  []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
}

// acquire takes a generation slot, waiting in the queue if there is room;
// false means the server is busy (or the client left while queued).
func (s *Server) acquire(ctx context.Context) bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	if s.queued.Add(1) > int64(s.cfg.Queue) {
		s.queued.Add(-1)
		return false
	}
	s.qdepth.Inc()
	defer func() { s.queued.Add(-1); s.qdepth.Dec() }()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20)) // to EOF, so a client hang-up cancels r.Context()
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		s.fail(w, http.StatusBadRequest, "invalid JSON body: "+err.Error(), "invalid_request_error")
		return
	}
	if s.cfg.MaxConns > 0 && s.conns.Load() > int64(s.cfg.MaxConns) {
		w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.RetryAfter+time.Second-1)/time.Second)))
		s.fail(w, s.cfg.BusyStatus, "too many connections", "overloaded")
		return
	}
	if !s.acquire(r.Context()) {
		w.Header().Set("Retry-After", strconv.Itoa(int((s.cfg.RetryAfter+time.Second-1)/time.Second)))
		s.fail(w, s.cfg.BusyStatus, "server busy", "overloaded")
		return
	}
	s.flight.Inc()
	defer func() { <-s.slots; s.flight.Dec() }()
	n := s.cfg.Tokens
	if req.MaxTokens > 0 && req.MaxTokens < n {
		n = req.MaxTokens
	}
	id := fmt.Sprintf("chatcmpl-%d", s.counter.Add(1))
	if req.Stream {
		s.stream(w, r.Context(), id, n)
		return
	}
	if !cli.Sleep(r.Context(), s.cfg.TTFT+time.Duration(n-1)*s.cfg.TokenDelay) {
		s.reqs.WithLabelValues("499").Inc()
		return
	}
	content := make([]byte, 0, n*6)
	for i := range n {
		content = append(content, token(i)...)
	}
	s.tokens.Add(float64(n))
	resp := map[string]any{
		"id": id, "object": "chat.completion", "created": time.Now().Unix(), "model": s.cfg.Name,
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": string(content)}}},
		"usage": map[string]any{"prompt_tokens": len(req.Messages), "completion_tokens": n,
			"total_tokens": len(req.Messages) + n},
	}
	w.Header().Set("Content-Type", "application/json")
	s.reqs.WithLabelValues("200").Inc()
	_ = json.NewEncoder(w).Encode(resp)
}

// stream writes one SSE event per token, flushed, then [DONE]. Headers go
// out with the first token, so a slow first token is a slow first byte.
func (s *Server) stream(w http.ResponseWriter, ctx context.Context, id string, n int) {
	flusher, _ := w.(http.Flusher)
	created := time.Now().Unix()
	for i := range n {
		d := s.cfg.TokenDelay
		if i == 0 {
			d = s.cfg.TTFT
		}
		if !cli.Sleep(ctx, d) {
			if i == 0 {
				s.reqs.WithLabelValues("499").Inc()
			}
			return
		}
		if i == 0 {
			w.Header().Set("Content-Type", "text/event-stream")
			w.Header().Set("Cache-Control", "no-cache")
			s.reqs.WithLabelValues("200").Inc()
		}
		var finish any
		if i == n-1 {
			finish = "stop"
		}
		chunk, _ := json.Marshal(map[string]any{"id": id, "object": "chat.completion.chunk",
			"created": created, "model": s.cfg.Name, "choices": []any{map[string]any{"index": 0,
				"delta": map[string]any{"role": "assistant", "content": token(i)}, "finish_reason": finish}}})
		if _, err := fmt.Fprintf(w, "data: %s\n\n", chunk); err != nil {
			return
		}
		s.tokens.Inc()
		if flusher != nil {
			flusher.Flush()
		}
	}
	_, _ = w.Write([]byte("data: [DONE]\n\n"))
	if flusher != nil {
		flusher.Flush()
	}
}

func (s *Server) fail(w http.ResponseWriter, status int, msg, typ string) {
	s.reqs.WithLabelValues(strconv.Itoa(status)).Inc()
	WriteError(w, status, msg, typ)
}

// WriteError writes an OpenAI-style error body: {"error":{"message","type"}}.
func WriteError(w http.ResponseWriter, status int, msg, typ string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": status}})
}

func token(i int) string {
	words := [...]string{"The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog. "}
	return words[i%len(words)]
}
