package proxy

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sseUpstream streams n events, 10 ms apart, then [DONE].
func sseUpstream(t *testing.T, n int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fl := w.(http.Flusher)
		for i := 0; i < n; i++ {
			fmt.Fprintf(w, "data: {\"i\":%d}\n\n", i)
			fl.Flush()
			time.Sleep(10 * time.Millisecond)
		}
		_, _ = io.WriteString(w, "data: [DONE]\n\n")
	}))
	t.Cleanup(srv.Close)
	return srv
}

func startRoute(t *testing.T, mode Mode, upstream string) *Route {
	t.Helper()
	rt, err := Start(Options{Name: t.Name() + "/" + string(mode), Listen: "127.0.0.1:0", Upstream: upstream, Mode: mode})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// events reads an SSE body and returns its data lines and the error that
// ended it (nil at a clean end).
func events(body io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out, sc.Err()
}

// echoServer echoes every connection, for tcp routes.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func spec(kind, params string) Spec { return Spec{Kind: kind, Params: []byte(params), Seed: 1} }

// oneConnUpstream listens on loopback, serves the first connection with
// serve (then closes it) and returns the address.
func oneConnUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		u, err := ln.Accept()
		if err != nil {
			return
		}
		defer u.Close()
		serve(u)
	}()
	return ln.Addr().String()
}

// dial opens a client connection to rt, closed at the test's end, with a
// 5 s deadline.
func dial(t *testing.T, rt *Route) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

// tracked counts the connections rt would close on Close.
func tracked(rt *Route) int {
	n := 0
	rt.conns.Range(func(any, any) bool { n++; return true })
	return n
}
