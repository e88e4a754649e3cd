// Package loadtest is the small open-loop load generator the example
// stack's tests drive the gateway with: requests are sent at their intended
// times whatever the answers do, and latency is measured from the intended
// time, so a stalled server cannot hide its stall (no coordinated omission).
package loadtest

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Stream is one paced request stream.
type Stream struct {
	Rate    float64                 // requests per second
	Header  func(i int) http.Header // headers of request i; nil = none
	Class   func(i int) string      // class label of request i; nil = ""
	Stream  bool                    // ask for SSE
	Tokens  int                     // max_tokens; 0 = 16
	Timeout time.Duration           // per request; 0 = 10s
}

// Result is one request's outcome.
type Result struct {
	Class    string
	At       time.Duration // intended send time since the run started
	Latency  time.Duration // from the intended send time to the end of the body
	Status   int           // 0 on a transport error
	Degraded bool          // X-Degraded: true
	Body     string
}

// Client is shared by all runs: plenty of idle connections so the load
// generator does not open a socket per request.
var Client = &http.Client{Transport: &http.Transport{MaxIdleConns: 2048, MaxIdleConnsPerHost: 1024,
	IdleConnTimeout: 30 * time.Second, DisableCompression: true}}

// Run sends the streams to url (a chat completions URL) for d, or until ctx
// ends, waits for every answer and returns them all.
func Run(ctx context.Context, url string, d time.Duration, streams ...Stream) []Result {
	start := time.Now()
	var mu sync.Mutex
	var out []Result
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Go(func() {
			n := int(s.Rate * d.Seconds())
			for i := range n {
				at := time.Duration(float64(i) / s.Rate * float64(time.Second))
				if wait := time.Until(start.Add(at)); wait > 0 {
					select {
					case <-time.After(wait):
					case <-ctx.Done():
						return
					}
				}
				wg.Go(func() {
					r := send(ctx, url, s, i)
					r.At = at
					r.Latency = time.Since(start.Add(at))
					mu.Lock()
					out = append(out, r)
					mu.Unlock()
				})
			}
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b Result) int { return int(a.At - b.At) })
	return out
}

func send(ctx context.Context, url string, s Stream, i int) Result {
	r := Result{}
	if s.Class != nil {
		r.Class = s.Class(i)
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	tokens := s.Tokens
	if tokens == 0 {
		tokens = 16
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	body := `{"model":"primary","max_tokens":` + strconv.Itoa(tokens) + `,"stream":` + map[bool]string{true: "true", false: "false"}[s.Stream] +
		`,"messages":[{"role":"user","content":"hello"}]}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	if s.Header != nil {
		for k, v := range s.Header(i) {
			req.Header[k] = v
		}
	}
	resp, err := Client.Do(req)
	if err != nil {
		return r
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return r
	}
	r.Status, r.Body = resp.StatusCode, string(b)
	r.Degraded = resp.Header.Get("X-Degraded") == "true"
	return r
}

// Select returns the results for which keep is true.
func Select(rs []Result, keep func(Result) bool) []Result {
	var out []Result
	for _, r := range rs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// Quantile is the q-quantile (0..1) of the latencies, 0 for no results.
func Quantile(rs []Result, q float64) time.Duration {
	if len(rs) == 0 {
		return 0
	}
	l := make([]time.Duration, len(rs))
	for i, r := range rs {
		l[i] = r.Latency
	}
	slices.Sort(l)
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

// Share is the fraction of results for which match is true.
func Share(rs []Result, match func(Result) bool) float64 {
	if len(rs) == 0 {
		return 0
	}
	return float64(len(Select(rs, match))) / float64(len(rs))
}
