package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync/atomic"
)

// stubEnv makes the harness re-executed as the stub server, so the stub's CPU
// is not counted as the generator's.
const stubEnv = "LOADBENCH_STUB"

// stubAnswer is a small non-streaming chat completion.
var stubAnswer = []byte(`{"id":"chatcmpl-1","object":"chat.completion","model":"stub","choices":[{"index":0,"message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7}}`)

// stubCounts are the stub's connection counts, served at /stats.
type stubCounts struct {
	Opened int64 `json:"opened"` // connections accepted since the last reset
	Peak   int64 `json:"peak"`   // most open at once since the last reset
}

// runStub serves the stub on a loopback port, and its /stats on a second one
// so reading them opens no connection that would be counted; it prints both
// addresses on one line of stdout.
func runStub() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("stub: listen: %w", err)
	}
	ctl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("stub: listen: %w", err)
	}
	var open, opened, peak atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/chat/completions", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(stubAnswer)
	})
	ctlMux := http.NewServeMux()
	ctlMux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(stubCounts{Opened: opened.Load(), Peak: peak.Load()})
		if r.URL.Query().Get("reset") != "" {
			opened.Store(0)
			peak.Store(open.Load())
		}
	})
	srv := &http.Server{Handler: mux, ConnState: func(c net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
			n := open.Add(1)
			for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, ln.Addr().String(), ctl.Addr().String())
	out.Flush()
	go func() { _ = http.Serve(ctl, ctlMux) }()
	return srv.Serve(ln)
}
