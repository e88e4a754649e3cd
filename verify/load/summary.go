package load

import (
	"time"
)

// Quantiles summarises one duration distribution.
type Quantiles struct {
	P50, P90, P95, P99, Max time.Duration
	Count                   int64
}

// Summary aggregates the completed requests whose intended send time lies in
// a window. Latency, Service and SendLag cover every completed request,
// errors included; TTFT and InterToken only the answers that had them.
type Summary struct {
	From, To               time.Time // the window actually covered, on whole seconds from Start
	Completed, OK, Errors  int64
	ErrorRate              float64          // Errors/Completed, 0 when none
	Degraded               int64            // OK answers with the degraded marker
	DegradedShare          float64          // Degraded/Completed
	Status                 map[int]int64    // HTTP status counts
	Failures               map[string]int64 // transport failures by kind: timeout, refused, reset, truncated, other
	Latency                Quantiles        // from intended send time to the end of the answer
	Service                Quantiles        // from actual send to the end of the answer
	SendLag                Quantiles        // actual send − intended send (queueing inside the tool)
	TTFTEvent, TTFTContent Quantiles        // from intended send to the first SSE event / first non-empty delta.content; non-stream: = Latency
	InterToken             Quantiles        // gaps between content events
	Tokens                 int64            // content events (stream) or usage.completion_tokens (non-stream)
	Rate                   float64          // Completed / window seconds
	Unsent                 int64            // due in the window but never sent (stopped or backlogged)
}

// Second is the summary of one second of intended send times.
type Second struct {
	At time.Time
	Summary
}

// Summary aggregates requests whose intended send time is in [from, to);
// class "" means all classes. Buckets are whole seconds from Start; a second
// belongs to the window when its midpoint does, so adjacent windows never
// count a request twice. Only completed requests count.
func (t *Timeline) Summary(from, to time.Time, class string) Summary {
	t.mu.Lock()
	start := t.start
	t.mu.Unlock()
	if start.IsZero() {
		return Summary{From: from, To: to}
	}
	half := time.Second / 2
	s0 := ceilSec(from.Sub(start) - half)
	s1 := ceilSec(to.Sub(start) - half)
	return t.summarize(max(s0, 0), s1, class)
}

// Seconds returns one summary per elapsed second since Start.
func (t *Timeline) Seconds(class string) []Second {
	t.mu.Lock()
	start, n := t.start, t.elapsedLocked()
	t.mu.Unlock()
	out := make([]Second, 0, n)
	for s := 0; s < n; s++ {
		out = append(out, Second{At: start.Add(time.Duration(s) * time.Second), Summary: t.summarize(s, s+1, class)})
	}
	return out
}

// elapsedLocked is the number of seconds begun since Start (until the end of the run).
func (t *Timeline) elapsedLocked() int {
	if t.start.IsZero() {
		return 0
	}
	end := t.end
	if end.IsZero() {
		end = time.Now()
	}
	return max(ceilSec(end.Sub(t.start)), len(t.secs))
}

// ceilSec rounds d up to whole seconds.
func ceilSec(d time.Duration) int {
	s := int(d / time.Second)
	if d > 0 && d%time.Second != 0 {
		s++
	}
	return s
}

// summarize aggregates seconds [s0, s1) for class ("" = all).
func (t *Timeline) summarize(s0, s1 int, class string) Summary {
	ci := -1
	for i, c := range t.classes {
		if c == class {
			ci = i
		}
	}
	var counts [nMetrics][]int64
	for m := range counts {
		counts[m] = make([]int64, countsLen)
	}
	sum := Summary{Status: map[int]int64{}, Failures: map[string]int64{}}
	var packed [nMetrics][]sparse // compacted data never changes in place: decode it unlocked
	t.mu.Lock()
	start, elapsed := t.start, t.elapsedLocked()
	for s := s0; s < s1 && s < len(t.secs); s++ {
		for i, b := range t.secs[s] {
			if b == nil || (class != "" && i != ci) {
				continue
			}
			b.addTo(&sum, &counts)
			for m := range packed {
				if len(b.packed[m].b) > 0 {
					packed[m] = append(packed[m], b.packed[m])
				}
			}
		}
	}
	t.mu.Unlock()
	for m := range packed {
		for i := range packed[m] {
			packed[m][i].addTo(counts[m])
		}
	}
	sum.From = start.Add(time.Duration(s0) * time.Second)
	sum.To = start.Add(time.Duration(s1) * time.Second)
	if sum.Completed > 0 {
		sum.ErrorRate = float64(sum.Errors) / float64(sum.Completed)
		sum.DegradedShare = float64(sum.Degraded) / float64(sum.Completed)
	}
	if secs := min(s1, elapsed) - s0; secs > 0 {
		sum.Rate = float64(sum.Completed) / float64(secs)
	}
	q := func(m metric) Quantiles { return quantilesOf(counts[m]) }
	sum.Latency, sum.Service, sum.SendLag = q(mLatency), q(mService), q(mSendLag)
	sum.TTFTEvent, sum.TTFTContent, sum.InterToken = q(mTTFTEvent), q(mTTFTContent), q(mInterToken)
	return sum
}

// addTo adds the bucket's counters into sum and its live histograms into counts.
func (b *bucket) addTo(sum *Summary, counts *[nMetrics][]int64) {
	sum.Completed += b.completed
	sum.OK += b.ok
	sum.Errors += b.errors
	sum.Degraded += b.degraded
	sum.Tokens += b.tokens
	sum.Unsent += b.unsent
	for k, v := range b.status {
		sum.Status[k] += v
	}
	for k, v := range b.failures {
		if v > 0 {
			sum.Failures[failureNames[k]] += v
		}
	}
	for m := range b.live {
		if h := b.live[m]; h != nil && h.TotalCount() > 0 {
			for i, c := range h.Export().Counts {
				counts[m][i] += c
			}
		}
	}
}
