package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkLoopDelay measures the delay a latency or ttfb fault served by
// the event loop delivers, as a distribution: each request's round trip on
// one keep-alive connection with the fault on, less the median round trip
// of the same route with none (measured just before). It reports the
// delivered p50 and p99 beside the requested delay; no bound is asserted
// (the machine may be busy): compare the numbers.
func BenchmarkLoopDelay(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, `{"ok":true}`) }))
	defer up.Close()
	for _, tc := range []struct {
		name, kind string
		d          time.Duration
	}{
		{"latency-1ms", "latency", time.Millisecond},
		{"latency-10ms", "latency", 10 * time.Millisecond},
		{"ttfb-1ms", "ttfb", time.Millisecond},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt, err := Start(Options{Name: b.Name(), Listen: "127.0.0.1:0", Upstream: strings.TrimPrefix(up.URL, "http://")})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			c, err := net.Dial("tcp", rt.Addr())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			br := bufio.NewReader(c)
			rtt := func() time.Duration {
				start := time.Now()
				_, _ = io.WriteString(c, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				return time.Since(start)
			}
			var base []time.Duration
			for range 200 {
				base = append(base, rtt())
			}
			slices.Sort(base)
			if _, err := rt.Add(Spec{Kind: tc.kind, Params: []byte(`{"delay":"` + tc.d.String() + `"}`)}); err != nil {
				b.Fatal(err)
			}
			var got []time.Duration
			b.ResetTimer()
			for range b.N {
				got = append(got, rtt()-base[len(base)/2])
			}
			b.StopTimer()
			slices.Sort(got)
			b.ReportMetric(float64(tc.d.Microseconds()), "requested-µs")
			b.ReportMetric(float64(got[len(got)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(got[len(got)*99/100].Microseconds()), "p99-µs")
		})
	}
}
