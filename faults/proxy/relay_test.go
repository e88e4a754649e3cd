package proxy

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A relayed connection carries 16 MiB each way intact while the client
// reads slowly: the loop parks what the client does not take, stops reading
// the upstream meanwhile, and catches up.
func TestRelayBackpressureKeepsEveryByte(t *testing.T) {
	rt := startRoute(t, ModeTCP, echoServer(t))
	c, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	data := make([]byte, 16<<20)
	for i := range data {
		data[i] = byte(rand.IntN(256))
	}
	go func() {
		_, _ = c.Write(data)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	time.Sleep(300 * time.Millisecond) // the echo and the relay fill every buffer on the way
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, sha256.Sum256(data), sha256.Sum256(got), "%d of %d bytes back", len(got), len(data))
}

// A half-close is passed on: the upstream sees the client's end, then
// answers and closes, and the client reads the whole answer.
func TestRelayHalfClose(t *testing.T) {
	up := oneConnUpstream(t, func(u net.Conn) {
		req, _ := io.ReadAll(u) // to the client's end
		_, _ = u.Write(bytes.Repeat(req, 1000))
	})
	rt := startRoute(t, ModeTCP, up)
	c := dial(t, rt)
	_, err := io.WriteString(c, "question;")
	require.NoError(t, err)
	require.NoError(t, c.(*net.TCPConn).CloseWrite())
	got, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.Equal(t, bytes.Repeat([]byte("question;"), 1000), got)
}

// Closing the route ends its relayed connections, and the active gauge
// follows connections as they come and go.
func TestRelayRouteCloseEndsConnections(t *testing.T) {
	rt := startRoute(t, ModeTCP, echoServer(t))
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", rt.Addr())
		require.NoError(t, err)
		defer c.Close()
		_, err = io.WriteString(c, "x")
		require.NoError(t, err)
		_, err = io.ReadFull(c, make([]byte, 1))
		require.NoError(t, err)
		conns = append(conns, c)
	}
	assert.Equal(t, int64(20), rt.active.Load())
	require.NoError(t, conns[0].Close())
	require.Eventually(t, func() bool { return rt.active.Load() == 19 }, 2*time.Second, 5*time.Millisecond)
	require.NoError(t, rt.Close())
	var wg sync.WaitGroup
	for _, c := range conns[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := c.Read(make([]byte, 1))
			var ne net.Error
			assert.Error(t, err)
			assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the route's close did not reach the client: %v", err)
		}()
	}
	wg.Wait()
	require.Eventually(t, func() bool { return rt.active.Load() == 0 }, 2*time.Second, 5*time.Millisecond)
}

// An upstream that resets is passed on as a reset, not a clean end.
func TestRelayPassesResetOn(t *testing.T) {
	up := oneConnUpstream(t, func(u net.Conn) {
		_, _ = u.Read(make([]byte, 16))
		_ = u.(*net.TCPConn).SetLinger(0)
	})
	rt := startRoute(t, ModeTCP, up)
	c := dial(t, rt)
	_, err := io.WriteString(c, "hi")
	require.NoError(t, err)
	_, err = io.ReadAll(c)
	assert.ErrorContains(t, err, "connection reset")
}
