package gateway

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// hopHeaders are not copied from an upstream answer.
var hopHeaders = map[string]bool{"Connection": true, "Keep-Alive": true, "Transfer-Encoding": true,
	"Te": true, "Trailer": true, "Upgrade": true, "Proxy-Connection": true, "Content-Length": true}

// relayResult says how relaying an answer ended.
type relayResult int

const (
	relayed       relayResult = iota // the whole answer reached the client
	upstreamBroke                    // the upstream's body failed or stalled
	clientGone                       // writing to the client failed
)

// relay copies an upstream answer to the client and closes it. SSE answers
// pass through event by event, flushed; degraded answers get X-Degraded:
// true and "degraded": true at the top level of the JSON body or of every
// SSE chunk.
func relay(w http.ResponseWriter, resp *http.Response, degraded bool, idle time.Duration) relayResult {
	defer func() { _ = resp.Body.Close() }()
	for k, vs := range resp.Header {
		if !hopHeaders[k] {
			w.Header()[k] = vs
		}
	}
	if degraded {
		w.Header().Set("X-Degraded", "true")
	} else {
		w.Header().Set("X-Degraded", "false")
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		w.WriteHeader(resp.StatusCode)
		return relayStream(w, resp.Body, degraded, idle)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		writeError(w, http.StatusBadGateway, "reading the upstream answer: "+err.Error(), "upstream_error")
		return upstreamBroke
	}
	if degraded {
		body = markDegraded(body)
	}
	w.WriteHeader(resp.StatusCode)
	if _, err = w.Write(body); err != nil {
		return clientGone
	}
	return relayed
}

// relayStream copies SSE events, flushing each; an upstream silent for idle
// has its body closed, which cuts the stream (bytes were sent: no retry).
func relayStream(w http.ResponseWriter, body io.ReadCloser, degraded bool, idle time.Duration) relayResult {
	flusher, _ := w.(http.Flusher)
	stall := time.AfterFunc(idle, func() { _ = body.Close() })
	defer stall.Stop()
	rd := bufio.NewReaderSize(body, 16<<10)
	for {
		line, err := rd.ReadBytes('\n')
		stall.Reset(idle)
		if len(line) > 0 {
			if degraded {
				if rest, ok := bytes.CutPrefix(line, []byte("data: ")); ok {
					line = append([]byte("data: "), markDegraded(rest)...)
				}
			}
			if _, werr := w.Write(line); werr != nil {
				return clientGone
			}
			// Flush at the end of each event, unless the next one is
			// already here: then they go out together, no later.
			if len(bytes.TrimSpace(line)) == 0 && flusher != nil && rd.Buffered() == 0 {
				flusher.Flush()
			}
		}
		if err != nil {
			if flusher != nil {
				flusher.Flush()
			}
			if err == io.EOF {
				return relayed
			}
			return upstreamBroke
		}
	}
}

// markDegraded adds "degraded":true to a JSON object, keeping the rest of
// the bytes (and a trailing newline) as they are; other input is returned
// unchanged.
func markDegraded(b []byte) []byte {
	trimmed := bytes.TrimLeft(b, " \t")
	if len(trimmed) == 0 || trimmed[0] != '{' || !json.Valid(bytes.TrimSpace(trimmed)) {
		return b
	}
	out := make([]byte, 0, len(trimmed)+20)
	out = append(out, `{"degraded":true`...)
	if rest := bytes.TrimLeft(trimmed[1:], " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, trimmed[1:]...)
}

// writeError answers an OpenAI-style error: {"error":{"message","type"}}.
func writeError(w http.ResponseWriter, status int, msg, typ string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": typ, "code": status}})
}
