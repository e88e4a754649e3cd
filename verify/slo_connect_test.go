//go:build linux

package verify

import (
	"context"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/load"
)

// TestSLOConnectBounds: connect_p99 and connect_error_rate each fail on
// their own numbers, and a window in which no connection was opened fails
// them both (nothing was measured).
func TestSLOConnectBounds(t *testing.T) {
	slo := SLO{Connect: dur("100ms"), ConnectErrors: pct(1)}
	fast := load.Quantiles{P50: time.Millisecond, P99: 2 * time.Millisecond, Count: 98}
	tests := []struct {
		name     string
		sum      load.Summary
		ok       bool
		measured string
		reason   string
	}{
		{"both hold", load.Summary{Completed: 100, Connects: 100, Connect: fast}, true,
			"connect p99 2ms, connect error rate 0% of 100 connects, 100 requests", ""},
		{"connect p99 fails", load.Summary{Completed: 100, Connects: 100, Connect: load.Quantiles{P99: 1030 * time.Millisecond, Count: 100}}, false,
			"connect p99 1.03s, connect error rate 0% of 100 connects, 100 requests", "connect p99 1.03s > 100ms"},
		{"connect error rate fails", load.Summary{Completed: 100, Connects: 100, ConnectErrors: 2, ConnectErrorRate: 0.02, Connect: fast}, false,
			"connect p99 2ms, connect error rate 2% of 100 connects, 100 requests", "connect error rate 2% > 1%"},
		{"no connection opened", load.Summary{Completed: 100}, false,
			"connect p99 n/a, connect error rate n/a, 100 requests", "connect error rate: none of 100 requests opened a connection (valid with fresh_connections load)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, measured, bound, reason := slo.Judge(tt.sum)
			assert.Equal(t, tt.ok, ok, reason)
			assert.Equal(t, tt.measured, measured)
			assert.Equal(t, "connect p99 ≤ 100ms, connect error rate ≤ 1%", bound)
			assert.Contains(t, reason, tt.reason)
		})
	}
}

func TestSLOConnectValidate(t *testing.T) {
	zero, over := dur("0s"), pct(150)
	tests := []struct {
		name   string
		slo    SLO
		fields []string
	}{
		{"connect_p99 alone is a bound", SLO{Connect: dur("200ms")}, nil},
		{"connect_error_rate alone is a bound", SLO{ConnectErrors: pct(1)}, nil},
		{"zero connect_p99", SLO{Connect: zero}, []string{"connect_p99"}},
		{"connect_error_rate over 100%", SLO{ConnectErrors: over}, []string{"connect_error_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := tt.slo.Validate()
			assert.Equal(t, tt.fields, fields(ps))
			for _, p := range ps {
				assert.Contains(t, p.Msg, "valid:")
			}
		})
	}
	assert.Contains(t, SLO{}.Validate()[0].Msg, "connect_p99, connect_error_rate")
}

// slowAccept is a loopback HTTP server whose listen backlog is 1 and which
// accepts one connection every `every`: the accept queue stays full, so
// the kernel drops new clients' SYNs and they connect only after a SYN
// retransmit (a second or more). Connections it has accepted are served
// at once.
func slowAccept(t *testing.T, every time.Duration) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	require.NoError(t, err)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 1))
	f := os.NewFile(uintptr(fd), "slow-accept")
	ln, err := net.FileListener(f)
	f.Close()
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"choices":[{"message":{"content":"hi"}}]}`))
	})}
	go func() { _ = srv.Serve(&slowListener{Listener: ln, every: every}) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

type slowListener struct {
	net.Listener
	every time.Duration
}

// Accept waits before taking the next connection off the queue.
func (l *slowListener) Accept() (net.Conn, error) {
	time.Sleep(l.every)
	return l.Listener.Accept()
}

// TestConnectSLOSeesNewClients: against one server that accepts slowly, a
// pooled keep-alive client's p99 stays fine while new clients wait a SYN
// retransmit to connect, so connect_p99 fails: the checks see what a new
// client sees, not what the pool sees.
func TestConnectSLOSeesNewClients(t *testing.T) {
	if testing.Short() {
		t.Skip("runs load for 3s")
	}
	url := slowAccept(t, 150*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := func(cfg load.Config) *load.Generator {
		g, err := load.New(cfg)
		require.NoError(t, err)
		return g
	}
	pooled := run(load.Config{URL: url, Method: http.MethodGet, Stages: []load.Stage{{Rate: 50}}, Connections: 1, Timeout: 3 * time.Second, MaxDuration: 3 * time.Second})
	fresh := run(load.Config{URL: url, Method: http.MethodGet, Stages: []load.Stage{{Rate: 20}}, FreshConnections: true, Connections: 64, Timeout: 3 * time.Second, MaxDuration: 1500 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Go(func() { _ = pooled.Run(ctx) })
	time.Sleep(700 * time.Millisecond) // the pool's one connection is accepted and serving
	wg.Go(func() { _ = fresh.Run(ctx) })
	wg.Wait()

	slo := &SLOCheck{SLO: SLO{P99: dur("250ms"), Connect: dur("250ms")}}
	ptl, ftl := pooled.Timeline(), fresh.Timeline()
	// The pooled client's first second waited for its own (slow) accept.
	pw := Window{Name: "pooled after its first second", From: ptl.Start().Add(time.Second), To: ptl.Start().Add(3 * time.Second)}
	fw := Window{Name: "new clients", From: ftl.Start(), To: ftl.Start().Add(1500 * time.Millisecond)}

	pr := (&SLOCheck{SLO: SLO{P99: dur("250ms")}}).Evaluate(ctx, Evidence{Timeline: ptl, Window: pw})
	assert.True(t, pr.Held, "pooled p99 on the same server: %s %s", pr.Measured, pr.Reason)
	fr := slo.Evaluate(ctx, Evidence{Timeline: ftl, Window: fw})
	assert.False(t, fr.Held, "new clients' connect p99: %s", fr.Measured)
	assert.Contains(t, fr.Reason, "connect p99")
	ps, fs := ptl.Summary(pw.From, pw.To, ""), ftl.Summary(fw.From, fw.To, "")
	t.Logf("pooled: %d requests, p99 %v, %d connects; new clients: %d requests, %d connects, connect p50 %v p99 %v, %d connect errors, TTFB p99 %v",
		ps.Completed, ps.Latency.P99, ps.Connects, fs.Completed, fs.Connects, fs.Connect.P50, fs.Connect.P99, fs.ConnectErrors, fs.TTFB.P99)
}
