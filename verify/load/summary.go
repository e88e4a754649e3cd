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
// errors included; TTFT and InterToken only the answers that had them;
// Connect only the requests that opened a connection.
type Summary struct {
	From, To               time.Time // the window actually covered, on whole ticks (Resolution) from Start
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
	TTFB                   Quantiles        // from intended send to the first byte of the answer
	Tokens                 int64            // content events (stream) or usage.completion_tokens (non-stream)
	Rate                   float64          // Completed / window seconds
	Unsent                 int64            // due in the window but never sent (stopped or backlogged)
	InFlight               int64            // due in the window, sent, not completed yet
	// Connects counts the requests that opened a TCP connection (every one
	// with fresh connections; with pooled ones only those that found none
	// idle); ConnectErrors those whose connection failed before any byte of
	// an answer: refused, timed out, or reset. Connect is the TCP connect
	// time of those that connected.
	Connects, ConnectErrors int64
	ConnectErrorRate        float64 // ConnectErrors/Connects, 0 when none
	Connect                 Quantiles
	// OwnLag is SendLag less the time a request waited in the backlog for a
	// busy worker (every connection held by a slow stack): the lateness that
	// is chaos's own — a late timer, a starved or stopped process. It is
	// what self-health judges; the rest of SendLag is the stack's doing and
	// is charged to it, as latency counts from the intended send time.
	OwnLag Quantiles
}

// Second is the summary of one second of intended send times.
type Second struct {
	At time.Time
	Summary
}

// Summary aggregates requests whose intended send time is in [from, to);
// class "" means all classes. Buckets are ticks of Resolution (100 ms) from
// Start; a tick belongs to the window when its midpoint does, so adjacent
// windows never count a request twice. Only completed requests count.
func (t *Timeline) Summary(from, to time.Time, class string) Summary {
	t.mu.Lock()
	start := t.start
	t.mu.Unlock()
	if start.IsZero() {
		return Summary{From: from, To: to}
	}
	half := Resolution / 2
	k0 := ceilTick(from.Sub(start) - half)
	k1 := ceilTick(to.Sub(start) - half)
	return t.summarize(max(k0, 0), k1, class)
}

// Seconds returns one summary per elapsed second since Start.
func (t *Timeline) Seconds(class string) []Second {
	t.mu.Lock()
	start, n := t.start, t.elapsedLocked()
	t.mu.Unlock()
	secs := (n + ticksPerSec - 1) / ticksPerSec
	out := make([]Second, 0, secs)
	for s := 0; s < secs; s++ {
		out = append(out, Second{At: start.Add(time.Duration(s) * time.Second), Summary: t.summarize(s*ticksPerSec, (s+1)*ticksPerSec, class)})
	}
	return out
}

// elapsedLocked is the number of ticks begun since Start (until the end of the run).
func (t *Timeline) elapsedLocked() int {
	if t.start.IsZero() {
		return 0
	}
	end := t.end
	if end.IsZero() {
		end = time.Now()
	}
	return max(ceilTick(end.Sub(t.start)), len(t.ticks))
}

// rate is completed requests per second of the window [k0, k1) that has
// really elapsed: a window still open (or the run's last, partial tick)
// counts up to now (or the run's end), not to the end of the tick begun.
func rate(completed int64, start, end time.Time, k0, k1 int) float64 {
	if k1 <= k0 || start.IsZero() {
		return 0
	}
	if end.IsZero() {
		end = time.Now()
	}
	to := start.Add(time.Duration(k1) * Resolution)
	if end.Before(to) {
		to = end
	}
	secs := to.Sub(start.Add(time.Duration(k0) * Resolution)).Seconds()
	if secs < Resolution.Seconds()/10 {
		secs = Resolution.Seconds() / 10
	}
	return float64(completed) / secs
}

// ceilTick rounds d up to whole ticks.
func ceilTick(d time.Duration) int {
	k := int(d / Resolution)
	if d > 0 && d%Resolution != 0 {
		k++
	}
	return k
}

// dense is the per-metric dense counts of a summary, allocated on first use.
type dense [nMetrics][]int64

func (d *dense) of(m int) []int64 {
	if d[m] == nil {
		d[m] = make([]int64, countsLen)
	}
	return d[m]
}

// summarize aggregates ticks [k0, k1) for class ("" = all).
func (t *Timeline) summarize(k0, k1 int, class string) Summary {
	ci := -1
	for i, c := range t.classes {
		if c == class {
			ci = i
		}
	}
	var counts dense
	sum := Summary{Status: map[int]int64{}, Failures: map[string]int64{}}
	var n [nCounters]int64
	var frozen [][]byte // immutable once written: decoded without the lock
	t.mu.Lock()
	start, elapsed, end := t.start, t.elapsedLocked(), t.end
	for k := k0; k < k1 && k < len(t.ticks); k++ {
		for i, s := range t.ticks[k] {
			if class != "" && i != ci {
				continue
			}
			switch {
			case s.live != nil:
				s.live.addTo(&n, sum.Status, &counts)
			case s.frozen != nil:
				frozen = append(frozen, s.frozen)
			}
		}
	}
	t.mu.Unlock()
	for _, b := range frozen {
		f := decode(b)
		for i, v := range f.n {
			n[i] += v
		}
		for _, st := range f.status {
			sum.Status[int(st[0])] += st[1]
		}
		for m, h := range f.hists {
			if len(h) > 0 {
				h.addTo(counts.of(m))
			}
		}
	}
	sum.Completed, sum.OK, sum.Errors, sum.Degraded = n[cCompleted], n[cOK], n[cErrors], n[cDegraded]
	sum.Tokens, sum.Unsent, sum.Connects, sum.ConnectErrors = n[cTokens], n[cUnsent], n[cConnects], n[cConnectErrors]
	sum.InFlight = max(n[cDue]-n[cCompleted]-n[cUnsent], 0)
	for k := range nFailures {
		if v := n[cFailures+int(k)]; v > 0 {
			sum.Failures[failureNames[k]] = v
		}
	}
	sum.From = start.Add(time.Duration(k0) * Resolution)
	sum.To = start.Add(time.Duration(k1) * Resolution)
	if sum.Completed > 0 {
		sum.ErrorRate = float64(sum.Errors) / float64(sum.Completed)
		sum.DegradedShare = float64(sum.Degraded) / float64(sum.Completed)
	}
	if sum.Connects > 0 {
		sum.ConnectErrorRate = float64(sum.ConnectErrors) / float64(sum.Connects)
	}
	sum.Rate = rate(sum.Completed, start, end, k0, min(k1, elapsed))
	q := func(m metric) Quantiles { return quantilesOf(counts[m]) }
	sum.Latency, sum.Service, sum.SendLag = q(mLatency), q(mService), q(mSendLag)
	sum.TTFTEvent, sum.TTFTContent, sum.InterToken = q(mTTFTEvent), q(mTTFTContent), q(mInterToken)
	sum.TTFB, sum.Connect = q(mTTFB), q(mConnect)
	sum.OwnLag = sum.SendLag
	if counts[mLagWaited] != nil {
		own := append([]int64(nil), counts.of(int(mSendLag))...)
		for i, n := range counts[mLagWaited] {
			own[i] -= n
		}
		for i, n := range counts.of(int(mOwnWaited)) {
			own[i] += n
		}
		sum.OwnLag = quantilesOf(own)
	}
	return sum
}

// addTo adds a live bucket's counters into n and status and its recorded
// values (and earlier sparse ones) into counts.
func (b *bucket) addTo(n *[nCounters]int64, status map[int]int64, counts *dense) {
	for i, v := range b.n {
		n[i] += v
	}
	for k, v := range b.status {
		status[k] += v
	}
	for m := range b.vals {
		if len(b.vals[m]) == 0 && len(b.packed[m]) == 0 {
			continue
		}
		c := counts.of(m)
		for _, v := range b.vals[m] {
			c[v]++
		}
		b.packed[m].addTo(c)
	}
}
