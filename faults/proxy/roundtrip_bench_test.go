package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkSSEFirstEvent measures how soon the headers and the first event
// of a stream reach the client through an http route with no fault, while
// the upstream holds the rest back (the figure the SSE pass-through test
// once bounded at 40 ms). It reports the p50 and p99 beside ns/op; no bound
// is asserted: compare the numbers.
func BenchmarkSSEFirstEvent(b *testing.B) {
	up, _ := heldSSEUpstream(b, 2)
	rt, err := Start(Options{Name: b.Name(), Listen: "127.0.0.1:0", Upstream: strings.TrimPrefix(up.URL, "http://"), Mode: ModeHTTP})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		resp, err := client.Get("http://" + rt.Addr() + "/s?hold=1")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(start))
		resp.Body.Close() // the held handler stays blocked until release
	}
	b.StopTimer()
	reportQuantiles(b, took)
}

// BenchmarkTCPRoundTrip measures a round trip on a new connection through a
// tcp route with no fault, and after a 100 ms latency fault was added and
// removed (the figure TestTCPFaultKinds once bounded at 50 ms). It reports
// the p50 and p99 beside ns/op.
func BenchmarkTCPRoundTrip(b *testing.B) {
	for _, rolledBack := range []bool{false, true} {
		name := map[bool]string{false: "no-fault", true: "after-rollback"}[rolledBack]
		b.Run(name, func(b *testing.B) {
			echo, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer echo.Close()
			go func() {
				for {
					c, err := echo.Accept()
					if err != nil {
						return
					}
					go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
				}
			}()
			rt, err := Start(Options{Name: b.Name(), Listen: "127.0.0.1:0", Upstream: echo.Addr().String(), Mode: ModeTCP})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close()
			if rolledBack {
				id, err := rt.Add(spec("latency", `{"delay":"100ms"}`))
				if err != nil {
					b.Fatal(err)
				}
				if err := rt.Remove(id); err != nil {
					b.Fatal(err)
				}
			}
			took := make([]time.Duration, 0, b.N)
			buf := make([]byte, 5)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				c, err := net.Dial("tcp", rt.Addr())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.WriteString(c, "hello"); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
				took = append(took, time.Since(start))
				c.Close()
			}
			b.StopTimer()
			reportQuantiles(b, took)
		})
	}
}

// reportQuantiles reports the p50 and p99 of took in milliseconds.
func reportQuantiles(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	q := func(p float64) float64 { return float64(took[int(p*float64(len(took)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
