package proxy

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// roundTrip sends msg on a new connection through rt and reads the echo.
func roundTrip(t *testing.T, rt *Route, msg string) (string, time.Duration, error) {
	t.Helper()
	c, err := net.Dial("tcp", rt.Addr())
	if err != nil {
		return "", 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if _, err := io.WriteString(c, msg); err != nil {
		return "", 0, err
	}
	buf := make([]byte, len(msg))
	n, err := io.ReadFull(c, buf)
	return string(buf[:n]), time.Since(start), err
}

func TestTCPPassthrough(t *testing.T) {
	rt := startRoute(t, ModeTCP, echoServer(t))
	got, _, err := roundTrip(t, rt, "hello")
	require.NoError(t, err)
	assert.Equal(t, "hello", got)
}

func TestTCPFaultKinds(t *testing.T) {
	big := string(make([]byte, 64<<10))
	// delays is what a row's fault adds to every round trip while it is on
	// (set where it is large enough to tell apart from a busy machine's
	// round trip): after rollback, a round trip takes less. How fast it is
	// then is BenchmarkTCPRoundTrip's figure.
	tests := []struct {
		name, kind, params, msg string
		delays                  time.Duration
		check                   func(t *testing.T, got string, took time.Duration, err error)
	}{
		{"latency downstream", "latency", `{"delay":"100ms"}`, "hi", 100 * time.Millisecond, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 100*time.Millisecond)
		}},
		{"latency both ways, sub-ms", "latency", `{"delay":"500us","direction":"both"}`, "hi", 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, time.Millisecond)
		}},
		{"latency holds the opening", "latency", `{"delay":"100ms","open":true,"direction":"upstream"}`, "hi", 100 * time.Millisecond, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 100*time.Millisecond)
		}},
		{"jitter", "jitter", `{"jitter":"20ms","delay":"10ms"}`, "hi", 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 10*time.Millisecond)
		}},
		{"bandwidth 256 KB/s", "bandwidth", `{"rate_kb":256}`, big, 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 200*time.Millisecond, "64 KiB at 256 KiB/s takes 250 ms")
		}},
		{"reset at once", "reset", `{}`, "hi", 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.Error(t, err)
			assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
		}},
		{"blackhole with timeout", "timeout", `{"timeout":"150ms"}`, "hi", 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.Error(t, err)
			assert.Empty(t, got)
			assert.GreaterOrEqual(t, took, 140*time.Millisecond)
		}},
		{"slicer", "slicer", `{"average_size":8,"size_variation":4,"delay":"1ms"}`, string(make([]byte, 256)), 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.Len(t, got, 256)
			assert.GreaterOrEqual(t, took, 10*time.Millisecond)
		}},
		{"limit-data", "limit-data", `{"bytes":3}`, "hello", 0, func(t *testing.T, got string, took time.Duration, err error) {
			require.Error(t, err)
			assert.Equal(t, "hel", got)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := startRoute(t, ModeTCP, echoServer(t))
			id, err := rt.Add(spec(tc.kind, tc.params))
			require.NoError(t, err)
			got, took, err := roundTrip(t, rt, tc.msg)
			tc.check(t, got, took, err)
			require.NoError(t, rt.Remove(id))
			got, took, err = roundTrip(t, rt, "after")
			require.NoError(t, err, "after rollback")
			assert.Equal(t, "after", got)
			if tc.delays > 0 {
				assert.Less(t, took, tc.delays, "rollback took the delay away")
			}
		})
	}
}

func TestTCPSlowCloseHoldsTheClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = io.WriteString(c, "bye")
			_ = c.Close()
		}
	}()
	rt := startRoute(t, ModeTCP, ln.Addr().String())
	_, err = rt.Add(spec("slow-close", `{"delay":"200ms"}`))
	require.NoError(t, err)
	c, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	defer c.Close()
	start := time.Now()
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, "bye", string(b))
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
}

// TestTCPFaultAppliesToConnectionsAcceptedAfterAdd: a connection opened
// before the fault is not delayed; one opened after Add returns is.
func TestTCPFaultAppliesToConnectionsAcceptedAfterAdd(t *testing.T) {
	rt := startRoute(t, ModeTCP, echoServer(t))
	old, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	defer old.Close()
	_, _ = io.WriteString(old, "x")
	_, _ = io.ReadFull(old, make([]byte, 1))
	// The delay is long enough that "not delayed" is told apart from a busy
	// machine's round trip without a speed bound.
	const delay = 500 * time.Millisecond
	_, err = rt.Add(spec("latency", `{"delay":"500ms"}`))
	require.NoError(t, err)
	start := time.Now()
	_, _ = io.WriteString(old, "y")
	_, _ = io.ReadFull(old, make([]byte, 1))
	assert.Less(t, time.Since(start), delay, "old connection unaffected")
	_, took, err := roundTrip(t, rt, "z")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, took, delay, "new connection delayed")
}

func TestTCPShareSparesSomeConnections(t *testing.T) {
	rt := startRoute(t, ModeTCP, echoServer(t))
	_, err := rt.Add(spec("reset", `{"share":"50%"}`))
	require.NoError(t, err)
	ok := 0
	for i := 0; i < 40; i++ {
		if _, _, err := roundTrip(t, rt, "a"); err == nil {
			ok++
		}
	}
	assert.InDelta(t, 20, ok, 12)
}
