package load

import (
	"net/http"
	"testing"
	"time"
)

// TestSenders runs the same answers through the raw HTTP/1.1 sender (the
// default for http:// URLs) and through net/http (a custom Client).
func TestSenders(t *testing.T) {
	closing := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		okJSON(w, r)
	}
	chunked := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Degraded", "1")
		w.Write([]byte(`{"degraded":`))
		w.(http.Flusher).Flush() // no Content-Length: chunked
		w.Write([]byte(`true,"usage":{"completion_tokens":3}}`))
	}
	answers := []struct {
		name   string
		h      http.HandlerFunc
		stream bool
		m      Marker
		tokens int64 // per answer
	}{
		{"keep-alive json", okJSON, false, Marker{JSON: "degraded", Equals: "true"}, 3},
		{"connection close", closing, false, Marker{JSON: "degraded", Equals: "true"}, 3},
		{"chunked degraded", chunked, false, Marker{Header: "X-Degraded", Equals: "1"}, 3},
		{"sse", sseHandler(0, time.Millisecond, 4, false, ""), true, Marker{JSON: "model", Equals: "x"}, 4},
	}
	for _, sender := range []string{"raw", "net/http"} {
		for _, a := range answers {
			t.Run(sender+"/"+a.name, func(t *testing.T) {
				srv := newConnServer(t, a.h)
				m := a.m
				cfg := Config{URL: srv.URL, Stream: a.stream, Degraded: &m, Connections: 8, Stages: []Stage{{Rate: 100}}, MaxDuration: 300 * time.Millisecond}
				if sender == "net/http" {
					cfg.Client = &http.Client{Transport: &http.Transport{MaxConnsPerHost: 8}}
				}
				g := runGen(t, cfg)
				s := all(g, "")
				if st := g.Stats(); st.Sent+st.Unsent < 29 {
					t.Errorf("stats %+v: want the 30 due requests sent or unsent", st)
				}
				if s.Completed < 1 || s.OK != s.Completed || s.Tokens != a.tokens*s.Completed {
					t.Fatalf("completed %d ok %d tokens %d failures %v", s.Completed, s.OK, s.Tokens, s.Failures)
				}
				if wantDeg := a.name == "chunked degraded"; (s.Degraded == s.Completed) != wantDeg {
					t.Errorf("degraded %d of %d, want all=%v", s.Degraded, s.Completed, wantDeg)
				}
				if st := g.Stats(); st.MaxConns < 1 || st.MaxConns > max(8, srv.opened.Load()) || srv.peak.Load() > 8 {
					t.Errorf("MaxConns %d, server peak %d opened %d; want ≤ 8 at once", st.MaxConns, srv.peak.Load(), srv.opened.Load())
				}
			})
		}
	}
}
