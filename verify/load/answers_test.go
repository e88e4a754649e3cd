package load

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseHandler streams a chat completion: a role event after ttft, then tokens
// content events gap apart, then [DONE] unless cut.
func sseHandler(ttft, gap time.Duration, tokens int, cut bool, extra string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		time.Sleep(ttft)
		fmt.Fprintf(w, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]%s}\n\n", extra)
		f.Flush()
		for i := 0; i < tokens; i++ {
			time.Sleep(gap)
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"tok%d \"}}]}\n\n", i)
			f.Flush()
		}
		if !cut {
			fmt.Fprint(w, "data: [DONE]\n\n")
		}
	}
}

func TestSSETimings(t *testing.T) {
	srv := newConnServer(t, sseHandler(100*time.Millisecond, 20*time.Millisecond, 5, false, ""))
	g := runGen(t, Config{URL: srv.URL, Stream: true, Stages: []Stage{{Rate: 10}}, MaxDuration: time.Second})
	s := all(g, "")
	if s.Completed < 9 || s.OK != s.Completed {
		t.Fatalf("completed %d ok %d, want 10 ok", s.Completed, s.OK)
	}
	within := func(name string, got, lo, hi time.Duration) {
		if got < lo || got > hi {
			t.Errorf("%s = %v, want in [%v, %v]", name, got, lo, hi)
		}
	}
	within("TTFTEvent p50", s.TTFTEvent.P50, 100*time.Millisecond, 300*time.Millisecond)
	within("TTFTContent p50", s.TTFTContent.P50, 120*time.Millisecond, 350*time.Millisecond)
	within("InterToken p50", s.InterToken.P50, 18*time.Millisecond, 80*time.Millisecond)
	within("Latency p50", s.Latency.P50, 200*time.Millisecond, 600*time.Millisecond)
	if s.Tokens != 5*s.Completed || s.InterToken.Count != 4*s.Completed {
		t.Errorf("tokens %d, gaps %d for %d answers; want 5 and 4 each", s.Tokens, s.InterToken.Count, s.Completed)
	}
}

func TestDegradedMarker(t *testing.T) {
	jsonBody := func(body string, status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Degraded", "true")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		}
	}
	tests := []struct {
		name   string
		h      http.HandlerFunc
		stream bool
		m      Marker
		want   bool
	}{
		{"header", jsonBody(`{}`, 200), false, Marker{Header: "x-degraded", Equals: "true"}, true},
		{"header differs", jsonBody(`{}`, 200), false, Marker{Header: "X-Degraded", Equals: "yes"}, false},
		{"json bool", jsonBody(`{"degraded":true}`, 200), false, Marker{JSON: "degraded", Equals: "true"}, true},
		{"json dotted", jsonBody(`{"a":[1],"meta":{"model":"fallback"}}`, 200), false, Marker{JSON: "meta.model", Equals: "fallback"}, true},
		{"json number", jsonBody(`{"tier":2}`, 200), false, Marker{JSON: "tier", Equals: "2"}, true},
		{"json absent", jsonBody(`{"degraded":false}`, 200), false, Marker{JSON: "degraded", Equals: "true"}, false},
		{"not on errors", jsonBody(`{"degraded":true}`, 503), false, Marker{JSON: "degraded", Equals: "true"}, false},
		{"sse chunk", sseHandler(0, 0, 2, false, `,"model":"small"`), true, Marker{JSON: "model", Equals: "small"}, true},
		{"sse no match", sseHandler(0, 0, 2, false, `,"model":"big"`), true, Marker{JSON: "model", Equals: "small"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newConnServer(t, tt.h)
			m := tt.m
			g := runGen(t, Config{URL: srv.URL, Stream: tt.stream, Degraded: &m, Stages: []Stage{{Rate: 20}}, MaxDuration: 250 * time.Millisecond})
			s := all(g, "")
			if s.Completed == 0 {
				t.Fatal("nothing completed")
			}
			if got := s.Degraded == s.Completed; got != tt.want || (!tt.want && s.Degraded != 0) {
				t.Fatalf("degraded %d of %d, want all=%v", s.Degraded, s.Completed, tt.want)
			}
			if tt.want && s.DegradedShare != 1 {
				t.Fatalf("degraded share %v, want 1", s.DegradedShare)
			}
		})
	}
}

func TestErrorKinds(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusedURL := "http://" + closed.Addr().String() + "/"
	closed.Close()
	tests := []struct {
		name   string
		h      http.HandlerFunc // nil: refusedURL
		stream bool
		status int    // expected status count key, 0 = none
		fail   string // expected failure kind, "" = none
	}{
		{"status 503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", 503) }, false, 503, ""},
		{"status 429", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", 429) }, false, 429, ""},
		{"timeout", func(w http.ResponseWriter, r *http.Request) { time.Sleep(400 * time.Millisecond) }, false, 0, FailTimeout},
		{"refused", nil, false, 0, FailRefused},
		{"truncated stream", sseHandler(0, time.Millisecond, 3, true, ""), true, 200, FailTruncated},
		{"reset", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
		}, false, 0, FailReset},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := refusedURL
			if tt.h != nil {
				url = newConnServer(t, tt.h).URL
			}
			g := runGen(t, Config{URL: url, Stream: tt.stream, Timeout: 150 * time.Millisecond, Stages: []Stage{{Rate: 20}}, MaxDuration: 250 * time.Millisecond})
			s := all(g, "")
			if s.Completed == 0 || s.Errors != s.Completed || s.ErrorRate != 1 || s.OK != 0 {
				t.Fatalf("completed %d errors %d rate %v ok %d, want every request an error", s.Completed, s.Errors, s.ErrorRate, s.OK)
			}
			if tt.status != 0 && s.Status[tt.status] != s.Completed {
				t.Errorf("status counts %v, want %d×%d", s.Status, s.Completed, tt.status)
			}
			if tt.fail != "" && s.Failures[tt.fail] != s.Completed {
				t.Errorf("failures %v, want %d×%s", s.Failures, s.Completed, tt.fail)
			}
			if tt.fail == "" && len(s.Failures) != 0 {
				t.Errorf("failures %v, want none", s.Failures)
			}
			if strings.Contains(tt.name, "timeout") && s.Latency.P50 < 140*time.Millisecond {
				t.Errorf("timeout latency %v, want ≥ the 150ms timeout", s.Latency.P50)
			}
		})
	}
}
