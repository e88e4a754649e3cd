package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
)

// runGateway runs the gateway program with args (as the local stack does)
// and returns its host:port; it stops at the end of the test.
func runGateway(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- gateway.Main(ctx, args, w, &stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("gateway did not stop")
		}
	})
	line, err := bufio.NewReader(r).ReadString('\n')
	require.NoError(t, err, stderr.String())
	go func() { _, _ = io.Copy(io.Discard, r) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	require.True(t, ok, line)
	return addr
}

// newClient sends one chat request on a connection of its own, as a new
// client does, and returns how long it took to be answered and the status.
func newClient(addr string, timeout time.Duration) (time.Duration, int, error) {
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(start.Add(timeout))
	body := `{"model":"primary","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", addr, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return time.Since(start), 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return time.Since(start), resp.StatusCode, nil
}

// hold opens n connections to addr as the exhaust fault does: idle, or
// slowloris (a request head that never ends).
func hold(t *testing.T, addr string, n int, slowloris bool) {
	t.Helper()
	for range n {
		c, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		if slowloris {
			fmt.Fprintf(c, "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nX-Slow: 1\r\n", addr)
		}
	}
}

// TestConnCapNewClients holds twice --max-conns idle or slowloris
// connections: with the head timeout a new client is served within about
// that timeout; without it (no-conn-timeout) it waits unanswered.
func TestConnCapNewClients(t *testing.T) {
	primary := startModel(t, "primary", nil, nil)
	const headTimeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name      string
		variant   []string
		slowloris bool
		served    bool
	}{
		{name: "idle, protected", served: true},
		{name: "slowloris, protected", slowloris: true, served: true},
		{name: "idle, no-conn-timeout", variant: []string{"--no-conn-timeout"}},
		{name: "slowloris, no-conn-timeout", variant: []string{"--no-conn-timeout"}, slowloris: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := runGateway(t, append([]string{"--primary", primary, "--fallback=",
				"--max-conns", "4", "--conn-head-timeout", headTimeout.String()}, tc.variant...)...)
			took, status, err := newClient(addr, 5*time.Second)
			require.NoError(t, err, "before the connections are held")
			require.Equal(t, http.StatusOK, status)

			hold(t, addr, 8, tc.slowloris)
			time.Sleep(50 * time.Millisecond) // the held connections are accepted first
			took, status, err = newClient(addr, 3*time.Second)
			if tc.served {
				require.NoError(t, err)
				assert.Equal(t, http.StatusOK, status)
				assert.Less(t, took, headTimeout+1500*time.Millisecond, "served within about the head timeout")
			} else {
				assert.Error(t, err, "a new client waits unanswered behind the held connections (status %d after %v)", status, took)
			}
		})
	}
}

// TestConnCapQueueTimeout fills every slot with requests under way: a new
// client is answered 503 after the queue timeout instead of waiting, and the
// slots serve again once the requests end.
func TestConnCapQueueTimeout(t *testing.T) {
	f := &fault{}
	f.mode.Store(hanging)
	primary := startModel(t, "primary", f, nil)
	addr := runGateway(t, "--primary", primary, "--fallback=", "--retries", "0", "--first-byte-timeout", "1s",
		"--max-conns", "2", "--conn-queue-timeout", "300ms")
	for range 2 {
		go func() { _, _, _ = newClient(addr, 5*time.Second) }()
	}
	time.Sleep(200 * time.Millisecond)
	took, status, err := newClient(addr, 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, http.StatusServiceUnavailable, status, "no slot within the queue timeout")
	assert.Less(t, took, 2*time.Second)

	f.mode.Store(healthy)
	assert.Positive(t, waitFor(10*time.Second, func() bool {
		_, status, err := newClient(addr, 5*time.Second)
		return err == nil && status == http.StatusOK
	}), "slots free once the hanging requests end")
}
