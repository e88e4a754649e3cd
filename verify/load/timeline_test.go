package load

import (
	"math/rand/v2"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// fill records perSec results per class for secs seconds: latency 10ms (+1ms per class).
func fill(tl *Timeline, secs, perSec int) {
	for s := 0; s < secs; s++ {
		for c := range tl.classes {
			for i := 0; i < perSec; i++ {
				at := time.Duration(s)*time.Second + time.Duration(i)*time.Second/time.Duration(perSec)
				tl.record(&result{class: c, due: at, intended: at, sent: at + time.Millisecond,
					end: at + 10*time.Millisecond + time.Duration(c)*time.Millisecond, status: 200, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1})
			}
		}
	}
}

func TestSummaryWindow(t *testing.T) {
	tl := newTimeline([]string{"a", "b"}, time.Second)
	start := time.Unix(1000, 0)
	tl.begin(start)
	fill(tl, 10, 10)
	tl.finish(start.Add(10 * time.Second))
	sec := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name     string
		from, to time.Time
		class    string
		want     int64
		from0    time.Time
	}{
		{"whole run", sec(0), sec(10), "", 200, sec(0)},
		{"three seconds one class", sec(2), sec(5), "a", 30, sec(2)},
		{"midpoint rounding to 100ms", sec(2.44), sec(4.66), "b", 23, sec(2.4)},
		{"adjacent windows do not overlap", sec(4.66), sec(7), "b", 23, sec(4.7)},
		{"sub-second window", sec(3.25), sec(3.55), "a", 3, sec(3.2)},
		{"before start", sec(-5), sec(1), "", 20, sec(0)},
		{"past the end", sec(8), sec(100), "a", 20, sec(8)},
		{"unknown class", sec(0), sec(10), "zzz", 0, sec(0)},
		{"empty", sec(3), sec(3), "", 0, sec(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tl.Summary(tt.from, tt.to, tt.class)
			if s.Completed != tt.want || !s.From.Equal(tt.from0) {
				t.Fatalf("completed %d from %v, want %d from %v", s.Completed, s.From.Sub(start), tt.want, tt.from0.Sub(start))
			}
			if tt.want > 0 && (s.Latency.P50 < 9*time.Millisecond || s.Latency.P50 > 12*time.Millisecond || s.SendLag.Max > 2*time.Millisecond) {
				t.Errorf("latency p50 %v, lag max %v; want ~10ms and ~1ms", s.Latency.P50, s.SendLag.Max)
			}
		})
	}
	if s := tl.Summary(sec(8), sec(100), "a"); s.Rate != 10 {
		t.Errorf("rate over a window past the end = %v, want 10/s over the 2 elapsed seconds", s.Rate)
	}
	if n := len(tl.Seconds("a")); n != 10 {
		t.Errorf("Seconds: %d, want 10", n)
	}
}

func TestMemoryBounded(t *testing.T) {
	tl := newTimeline([]string{"a", "b"}, time.Second) // horizon: 1s + 2s
	tl.begin(time.Now())
	fill(tl, 600, 50)
	live, frozen := tl.memStats()
	// Only the ticks inside the horizon keep their values (3 metrics recorded).
	if maxLive := (tl.horizon + ticksPerSec) * 5 * 3; live > maxLive*2 {
		t.Errorf("%d live values after 600 s, want ≤ %d", live, maxLive*2)
	}
	if per := frozen / 600 / 2; per > 1000 {
		t.Errorf("%d frozen bytes per class-second, want < 1000", per)
	}
	// A late result reopens a frozen tick, and nothing is lost.
	tl.record(&result{class: 0, due: 5 * time.Second, intended: 5 * time.Second, sent: 5 * time.Second, end: 6 * time.Second, status: 200, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1})
	fill(tl, 602, 1) // opens new ticks: the reopened bucket is frozen again
	s := tl.Summary(tl.Start(), tl.Start().Add(time.Hour), "a")
	if s.Completed != 600*50+1+602 || s.Latency.Count != s.Completed {
		t.Errorf("completed %d (latency count %d), want %d", s.Completed, s.Latency.Count, 600*50+1+602)
	}
	if s.Latency.Max < 990*time.Millisecond {
		t.Errorf("latency max %v, want the late 1s result", s.Latency.Max)
	}
	if s.Status[200] != s.Completed {
		t.Errorf("status 200: %d, want %d", s.Status[200], s.Completed)
	}
	tl.compactAll()
	if live, _ := tl.memStats(); live != 0 {
		t.Errorf("%d live values after compactAll, want 0", live)
	}
}

// TestMemoryPerHour records 10 minutes of 1,000 req/s over two classes with
// latencies spread over 10–500 ms (streaming: TTFT and three inter-token
// gaps each), and bounds the frozen bytes per second of run: an hour-long
// run at that rate stays under 60 MB. Run with -v to see the figure.
func TestMemoryPerHour(t *testing.T) {
	if testing.Short() {
		t.Skip("records 600,000 results")
	}
	tl := newTimeline([]string{"a", "b"}, 10*time.Second)
	tl.begin(time.Now())
	rng := rand.New(rand.NewPCG(1, 2))
	const secs, rate = 600, 1000
	gaps := make([]time.Duration, 3)
	for i := 0; i < secs*rate; i++ {
		at := time.Duration(i) * time.Second / rate
		lat := 10*time.Millisecond + time.Duration(rng.ExpFloat64()*float64(60*time.Millisecond))
		for g := range gaps {
			gaps[g] = 15*time.Millisecond + time.Duration(rng.IntN(10_000))*time.Microsecond
		}
		tl.record(&result{class: i & 1, due: at, intended: at, sent: at + time.Duration(rng.IntN(300))*time.Microsecond, end: at + lat,
			status: 200, fail: failNone, ttftEv: lat / 3, ttftCont: lat / 2, ttfb: lat / 3, gaps: gaps, tokens: 4})
	}
	tl.compactAll()
	_, frozen := tl.memStats()
	perSec := frozen / secs
	t.Logf("%d req/s, 2 classes: %d frozen bytes per second of run, %.1f MB per hour", rate, perSec, float64(perSec)*3600/1e6)
	if perHour := perSec * 3600; perHour > 60e6 {
		t.Errorf("%d bytes per hour, want < 60 MB", perHour)
	}
}

// TestHistIndexMatchesHDR holds histIndex to what hdrhistogram-go records.
func TestHistIndexMatchesHDR(t *testing.T) {
	h := hdr.New(histMin, histMax, histSigFigs)
	for _, v := range []int64{1, 2, 127, 128, 255, 256, 257, 511, 512, 1000, 1023, 1024, 12345, 999_999, 1 << 20, histMax - 1, histMax} {
		h.Reset()
		_ = h.RecordValue(v)
		counts := h.Export().Counts
		want := -1
		for i, c := range counts {
			if c > 0 {
				want = i
			}
		}
		if got := int(histIndex(v)); got != want {
			t.Errorf("histIndex(%d) = %d, hdr records at %d", v, got, want)
		}
	}
	if histIndex(0) != histIndex(1) || histIndex(histMax*2) != histIndex(histMax) {
		t.Error("values out of range are not clamped")
	}
}

func BenchmarkRecord(b *testing.B) {
	tl := newTimeline([]string{"a", "b"}, 10*time.Second)
	tl.begin(time.Now())
	gaps := []time.Duration{20 * time.Millisecond, 21 * time.Millisecond, 19 * time.Millisecond}
	r := result{status: 200, fail: failNone, ttftEv: 80 * time.Millisecond, ttftCont: 90 * time.Millisecond, gaps: gaps, tokens: 4}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.class = i & 1
		r.intended = time.Duration(i) * 200 * time.Microsecond // 5,000 req/s
		r.due = r.intended
		r.sent = r.intended + 50*time.Microsecond
		r.end = r.intended + time.Duration(i%1000)*time.Microsecond + time.Millisecond
		tl.record(&r)
	}
}

// TestOwnLagLeavesOutTheBacklog: a request that waited 900 ms for a busy
// worker and was sent 1 s late has 100 ms of lag of chaos's own; one sent
// 300 ms late straight away has all 300 ms.
func TestOwnLagLeavesOutTheBacklog(t *testing.T) {
	tl := newTimeline([]string{""}, time.Second)
	start := time.Now()
	tl.begin(start)
	ms := time.Millisecond
	tl.record(&result{intended: 0, sent: 1000 * ms, waited: 900 * ms, end: 1010 * ms, status: 200, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1})
	tl.record(&result{due: 10 * ms, intended: 10 * ms, sent: 310 * ms, end: 320 * ms, status: 200, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1})
	for _, state := range []string{"live", "frozen"} {
		if state == "frozen" {
			tl.compactAll()
		}
		s := tl.Summary(start, start.Add(time.Second), "")
		near := func(got, want time.Duration) bool { return got > want*98/100 && got < want*102/100 }
		if !near(s.SendLag.Max, 1000*ms) || !near(s.OwnLag.Max, 300*ms) || !near(s.OwnLag.P50, 100*ms) || s.OwnLag.Count != 2 {
			t.Errorf("%s: send lag max %v, own lag p50 %v max %v (n=%d); want 1s, 100ms, 300ms, 2", state, s.SendLag.Max, s.OwnLag.P50, s.OwnLag.Max, s.OwnLag.Count)
		}
	}
}
