package gateway_test

import (
	"testing"
	"time"

	"github.com/chaos-sre/chaos/examples/internal/loadtest"
)

// BenchmarkBreakerOpen runs TestBreakerOpensFallsBackAndCloses's scenario
// (about 10 s a run; use -benchtime 1x) and reports the latency the
// fallback answers with while the breaker is open, and how soon the
// breaker opened and closed: the figures the test once bounded (p99 under
// 500 ms). No bound is asserted here: compare the numbers.
func BenchmarkBreakerOpen(b *testing.B) {
	for range b.N {
		whileOpen, _, opened, closedIn := breakerRun(b)
		b.ReportMetric(ms(loadtest.Quantile(whileOpen, 0.95)), "open-p95-ms")
		b.ReportMetric(ms(loadtest.Quantile(whileOpen, 0.99)), "open-p99-ms")
		b.ReportMetric(ms(opened), "opened-ms")
		b.ReportMetric(ms(closedIn), "closed-after-heal-ms")
	}
}

// BenchmarkEjectedReplica runs TestEjectionRemovesHungReplica's scenario
// (6 s a run; use -benchtime 1x) and reports the latency once the hung
// replica is ejected: the figure the test once bounded (p95 under 400 ms).
func BenchmarkEjectedReplica(b *testing.B) {
	for range b.N {
		rs, _, _ := hungReplica(b)
		late := settled(rs)
		b.ReportMetric(ms(loadtest.Quantile(late, 0.50)), "settled-p50-ms")
		b.ReportMetric(ms(loadtest.Quantile(late, 0.95)), "settled-p95-ms")
		b.ReportMetric(ms(loadtest.Quantile(rs[:90], 0.95)), "first-3s-p95-ms")
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
