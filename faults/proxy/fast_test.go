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
	c, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
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
	c, err := net.Dial("tcp", rt.Addr())
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
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
