package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/model"
)

// BenchmarkThroughput measures requests per second on loopback, with no
// token delays, for the model server alone and for the gateway in front of
// two of them, streaming and not: the ceiling the example stack puts on a
// load test.
func BenchmarkThroughput(b *testing.B) {
	newModel := func(b *testing.B) string {
		cfg := model.DefaultConfig()
		cfg.TTFT, cfg.TokenDelay, cfg.Concurrency, cfg.Queue = 0, 0, 512, 512
		m, err := model.New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(m)
		b.Cleanup(srv.Close)
		return srv.URL
	}
	targets := map[string]func(b *testing.B) string{
		"model": newModel,
		"gateway": func(b *testing.B) string {
			cfg := gateway.DefaultConfig()
			cfg.Primary = []string{strings.TrimPrefix(newModel(b), "http://"), strings.TrimPrefix(newModel(b), "http://")}
			cfg.Fallback = strings.TrimPrefix(newModel(b), "http://")
			cfg.NoShedding = true
			g, err := gateway.New(cfg)
			if err != nil {
				b.Fatal(err)
			}
			srv := httptest.NewServer(g)
			b.Cleanup(func() { srv.Close(); g.Close() })
			return srv.URL
		},
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	for _, target := range []string{"model", "gateway"} {
		for _, stream := range []bool{false, true} {
			name := target + "/json"
			if stream {
				name = target + "/stream"
			}
			b.Run(name, func(b *testing.B) {
				url := targets[target](b) + "/v1/chat/completions"
				body := `{"model":"primary","max_tokens":16,"stream":` + map[bool]string{true: "true", false: "false"}[stream] +
					`,"messages":[{"role":"user","content":"hello"}]}`
				b.SetParallelism(8)
				start := time.Now()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := client.Post(url, "application/json", strings.NewReader(body))
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode != http.StatusOK {
							b.Errorf("status %d", resp.StatusCode)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}
