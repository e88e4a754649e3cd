package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFastPathRelaysHTTPUnchanged drives the no-fault path with raw
// requests of every framing and checks what the upstream saw and what came
// back, on one keep-alive connection.
func TestFastPathRelaysHTTPUnchanged(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/nocontent":
			w.WriteHeader(204)
		case "/chunked":
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		default:
			fmt.Fprintf(w, "%s %s ua=%q body=%q", r.Method, r.URL.Path, r.UserAgent(), body)
		}
	}))
	defer up.Close()
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	br := bufio.NewReader(c)
	send := func(raw string, method string) (*http.Response, string) {
		_, err := io.WriteString(c, raw)
		require.NoError(t, err)
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}
	_, body := send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "POST")
	assert.Equal(t, `POST /a ua="" body="hello"`, body, "no User-Agent added")
	_, body = send("POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "POST")
	assert.Equal(t, `POST /b ua="" body="abcde"`, body)
	resp, body := send("HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD")
	assert.Equal(t, 200, resp.StatusCode)
	assert.Empty(t, body)
	resp, _ = send("GET /nocontent HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	assert.Equal(t, 204, resp.StatusCode)
	resp, body = send("GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n", "GET")
	assert.Equal(t, []string{"chunked"}, resp.TransferEncoding)
	assert.Equal(t, "ab", body)
	_, body = send("GET /d HTTP/1.0\r\nHost: x\r\n\r\n", "GET")
	assert.Equal(t, `GET /d ua="" body=""`, body, "HTTP/1.0 goes the slow path")
}

func TestFastPathConnectionClose(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	_, _ = io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, err := io.ReadAll(c)
	require.NoError(t, err, "the proxy closes after the answer")
	assert.Contains(t, string(b), `{"ok":true}`)
}

func TestUpstreamDownIsA502(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	rt := startRoute(t, ModeHTTP, addr)
	resp, err := http.Get("http://" + rt.Addr() + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 502, resp.StatusCode)
}

// Two requests in one write: the second waits for the first's answer, and
// both are answered in order on the one connection.
func TestFastPathPipelinedRequests(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s:%s", r.URL.Path, body)
	}))
	defer up.Close()
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	_, err := io.WriteString(c, "POST /one HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET /two HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	for _, want := range []string{"/one:abc", "/two:"} {
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, want, string(b))
	}
	assert.Equal(t, int64(2), rt.requests.Load())
}

// An answer streams through event by event: the upstream sends its second
// event only once the client has read the first, which deadlocks a proxy
// that holds the answer back.
func TestFastPathStreamsEventByEvent(t *testing.T) {
	got := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-got:
		case <-time.After(3 * time.Second):
			return
		}
		fmt.Fprint(w, "data: two\n\n")
	}))
	defer up.Close()
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	resp, err := http.Get("http://" + rt.Addr() + "/stream")
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "data: one\n", line)
	close(got)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, "\ndata: two\n\n", string(rest))
}

// Megabytes each way on a keep-alive connection whose client reads slowly.
func TestFastPathLargeBodies(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Got", fmt.Sprint(len(body)))
		for range 4 { // chunked, 8 MiB
			_, _ = w.Write(body)
		}
	}))
	defer up.Close()
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	cl := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
	payload := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB
	for range 3 {
		resp, err := cl.Post("http://"+rt.Addr()+"/echo", "text/plain", strings.NewReader(payload))
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond) // let every buffer on the way fill
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(len(payload)), resp.Header.Get("X-Got"))
		assert.True(t, strings.Repeat(payload, 4) == string(b), "answer of %d bytes intact", len(b))
	}
	assert.Equal(t, int64(3), rt.requests.Load(), "all on the fast path")
}

// Heads and bodies that arrive in pieces, both ways, and a 103 before
// the answer.
func TestFastPathHeadsInPieces(t *testing.T) {
	up := oneConnUpstream(t, func(u net.Conn) {
		br := bufio.NewReader(u)
		for range 2 {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			for _, piece := range []string{"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Le", "ngth: " + fmt.Sprint(len(body)) + "\r\n\r\n", string(body[:2]), string(body[2:])} {
				_, _ = io.WriteString(u, piece)
				time.Sleep(10 * time.Millisecond)
			}
		}
	})
	rt := startRoute(t, ModeHTTP, up)
	c := dial(t, rt)
	br := bufio.NewReader(c)
	for _, word := range []string{"hello", "world"} {
		for _, piece := range []string{"POST / HTTP/1.1\r\nHo", "st: x\r\nContent-Length: 5\r\n", "\r\n" + word[:3], word[3:]} {
			_, err := io.WriteString(c, piece)
			require.NoError(t, err)
			time.Sleep(10 * time.Millisecond)
		}
		resp, err := http.ReadResponse(br, nil)
		require.NoError(t, err)
		if resp.StatusCode == 103 {
			resp, err = http.ReadResponse(br, nil)
			require.NoError(t, err)
		}
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		assert.Equal(t, word, string(b))
	}
	assert.Equal(t, int64(2), rt.requests.Load(), "both on the fast path")
}

// Closing the route mid-answer ends the connection on both sides and lets
// go of its sockets, though the client is not being read then.
func TestFastPathRouteCloseMidAnswer(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer up.Close()
	defer close(release)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	c := dial(t, rt)
	_, err := io.WriteString(c, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "data: one\n", line)
	require.NoError(t, rt.Close())
	_, err = io.ReadAll(br)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the close reached the client: %v", err)
	require.Eventually(t, func() bool { return tracked(rt) == 0 }, 2*time.Second, 10*time.Millisecond, "the relayed pair was let go")
}

// An answer that runs to the upstream's close: the client gets all of it
// and the end, and once it hangs up the relayed pair is let go, though the
// client is not read while an answer is under way.
func TestFastPathAnswerToCloseThenClientHangsUp(t *testing.T) {
	up := oneConnUpstream(t, func(u net.Conn) {
		if _, err := http.ReadRequest(bufio.NewReader(u)); err == nil {
			_, _ = io.WriteString(u, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
		}
	})
	rt := startRoute(t, ModeHTTP, up)
	c := dial(t, rt)
	_, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, err)
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), "\r\n\r\nall of it"), "%q", b)
	require.NoError(t, c.Close())
	require.Eventually(t, func() bool { return tracked(rt) == 0 }, 2*time.Second, 10*time.Millisecond, "the relayed pair was let go")
}
