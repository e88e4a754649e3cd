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
	tests := []struct {
		name, kind, params, msg string
		check                   func(t *testing.T, got string, took time.Duration, err error)
	}{
		{"latency downstream", "latency", `{"delay":"100ms"}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 100*time.Millisecond)
		}},
		{"latency both ways, sub-ms", "latency", `{"delay":"500us","direction":"both"}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, time.Millisecond)
		}},
		{"latency holds the opening", "latency", `{"delay":"100ms","open":true,"direction":"upstream"}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 100*time.Millisecond)
		}},
		{"jitter", "jitter", `{"jitter":"20ms","delay":"10ms"}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 10*time.Millisecond)
		}},
		{"bandwidth 256 KB/s", "bandwidth", `{"rate_kb":256}`, big, func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.GreaterOrEqual(t, took, 200*time.Millisecond, "64 KiB at 256 KiB/s takes 250 ms")
		}},
		{"reset at once", "reset", `{}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.Error(t, err)
			assert.True(t, errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
		}},
		{"blackhole with timeout", "timeout", `{"timeout":"150ms"}`, "hi", func(t *testing.T, got string, took time.Duration, err error) {
			require.Error(t, err)
			assert.Empty(t, got)
			assert.GreaterOrEqual(t, took, 140*time.Millisecond)
		}},
		{"slicer", "slicer", `{"average_size":8,"size_variation":4,"delay":"1ms"}`, string(make([]byte, 256)), func(t *testing.T, got string, took time.Duration, err error) {
			require.NoError(t, err)
			assert.Len(t, got, 256)
			assert.GreaterOrEqual(t, took, 10*time.Millisecond)
		}},
		{"limit-data", "limit-data", `{"bytes":3}`, "hello", func(t *testing.T, got string, took time.Duration, err error) {
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
			assert.Less(t, took, 50*time.Millisecond)
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
	_, err = rt.Add(spec("latency", `{"delay":"150ms"}`))
	require.NoError(t, err)
	start := time.Now()
	_, _ = io.WriteString(old, "y")
	_, _ = io.ReadFull(old, make([]byte, 1))
	assert.Less(t, time.Since(start), 100*time.Millisecond, "old connection unaffected")
	_, took, err := roundTrip(t, rt, "z")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, took, 150*time.Millisecond, "new connection delayed")
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
