package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortableRelay runs the relay's tests on the portable path (every OS
// but Linux; portable.go) where Linux runs them on the event loops. Left
// out: an answer that runs to the upstream's close reaches the client
// chunked on a kept-alive connection (net/http), not as a close.
func TestPortableRelay(t *testing.T) {
	portableRelay.Store(true)
	t.Cleanup(func() { portableRelay.Store(false) })
	for name, test := range map[string]func(*testing.T){
		"tcp backpressure keeps every byte": TestRelayBackpressureKeepsEveryByte,
		"tcp half-close":                    TestRelayHalfClose,
		"tcp route close ends connections":  TestRelayRouteCloseEndsConnections,
		"tcp reset passed on":               TestRelayPassesResetOn,
		"http relayed unchanged":            TestFastPathRelaysHTTPUnchanged,
		"http connection close":             TestFastPathConnectionClose,
		"http upstream down is a 502":       TestUpstreamDownIsA502,
		"http pipelined requests":           TestFastPathPipelinedRequests,
		"http streams event by event":       TestFastPathStreamsEventByEvent,
		"http large bodies":                 TestFastPathLargeBodies,
		"http heads in pieces":              TestFastPathHeadsInPieces,
		"http route close mid-answer":       TestFastPathRouteCloseMidAnswer,
		"http faults served by the chain":   testPortableHTTPFaults,
	} {
		t.Run(name, test)
	}
}

// testPortableHTTPFaults: without the loops every request goes through the
// net/http server and the fault chain, and a fault applies from Add on.
func testPortableHTTPFaults(t *testing.T) {
	up := sseUpstream(t, 2)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	get := func() (int, string) {
		resp, err := http.Get("http://" + rt.Addr() + "/plain")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(b)
	}
	code, body := get()
	assert.Equal(t, 200, code)
	assert.Equal(t, `{"ok":true}`, body)
	id, err := rt.Add(spec("http-error", `{"status":429}`))
	require.NoError(t, err)
	code, _ = get()
	assert.Equal(t, 429, code, "the fault answers in the proxy's name")
	require.NoError(t, rt.Remove(id))
	code, _ = get()
	assert.Equal(t, 200, code, "removed: forwarded again")
	assert.Equal(t, int64(3), rt.chained.Load(), "every request went through the chain, none through a loop")
}
