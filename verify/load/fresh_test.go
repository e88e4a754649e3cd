package load

import (
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreshConnectionsPerClass: a class with fresh connections dials for
// every request and says Connection: close; the pooled class keeps its
// connections. Connect time and TTFB are measured per class, through the
// raw client and through net/http.
func TestFreshConnectionsPerClass(t *testing.T) {
	for _, via := range []string{"raw", "net/http"} {
		t.Run(via, func(t *testing.T) {
			var closing, requests atomic.Int64
			srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if r.Close {
					closing.Add(1)
				}
				okJSON(w, r)
			})
			cfg := Config{URL: srv.URL, Stages: []Stage{{Rate: 100}}, MaxDuration: 1500 * time.Millisecond, Seed: 3,
				Classes: []Class{{Name: "pooled", Share: 0.8}, {Name: "new-clients", Share: 0.2, FreshConnections: true}}}
			if via == "net/http" {
				cfg.Client = &http.Client{Transport: &http.Transport{}}
			}
			g := runGen(t, cfg)
			fresh, pooled := all(g, "new-clients"), all(g, "pooled")
			if fresh.Completed < 10 || fresh.Errors > 0 {
				t.Fatalf("new-clients: %d completed, %d errors", fresh.Completed, fresh.Errors)
			}
			if fresh.Connects != fresh.Completed || fresh.Connect.Count != fresh.Completed || fresh.ConnectErrors != 0 {
				t.Errorf("new-clients: %d connects (%d timed, %d failed) for %d requests; want one each",
					fresh.Connects, fresh.Connect.Count, fresh.ConnectErrors, fresh.Completed)
			}
			if fresh.TTFB.Count != fresh.Completed || fresh.TTFB.P50 <= 0 || fresh.TTFB.P50 > fresh.Latency.Max {
				t.Errorf("new-clients TTFB %+v, latency max %v", fresh.TTFB, fresh.Latency.Max)
			}
			if pooled.Connects > pooled.Completed/4 {
				t.Errorf("pooled: %d connects for %d requests; want few (keep-alive)", pooled.Connects, pooled.Completed)
			}
			if got := closing.Load(); got != fresh.Completed {
				t.Errorf("%d requests said Connection: close, want %d (the fresh ones)", got, fresh.Completed)
			}
			if opened := srv.opened.Load(); opened < fresh.Completed {
				t.Errorf("server accepted %d connections, want at least %d", opened, fresh.Completed)
			}
			t.Logf("%s: fresh %d requests, connect p50 %v p99 %v, TTFB p50 %v; pooled %d requests over %d connects",
				via, fresh.Completed, fresh.Connect.P50, fresh.Connect.P99, fresh.TTFB.P50, pooled.Completed, pooled.Connects)
		})
	}
}

// TestFreshConnectionRefused: a port nobody listens on counts every fresh
// request as a connect failure (refused), apart from its latency.
func TestFreshConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	g := runGen(t, Config{URL: "http://" + addr + "/", FreshConnections: true, Stages: []Stage{{Rate: 50}}, MaxDuration: 500 * time.Millisecond})
	s := all(g, "")
	if s.Completed < 10 || s.Connects != s.Completed || s.ConnectErrors != s.Completed || s.ConnectErrorRate != 1 {
		t.Errorf("%d requests, %d connects, %d connect errors (rate %v); want all refused", s.Completed, s.Connects, s.ConnectErrors, s.ConnectErrorRate)
	}
	if s.Failures[FailRefused] != s.Completed || s.Connect.Count != 0 || s.TTFB.Count != 0 {
		t.Errorf("failures %v, connect count %d, TTFB count %d", s.Failures, s.Connect.Count, s.TTFB.Count)
	}
}
