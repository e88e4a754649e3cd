package load

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Failure kinds reported in Summary.Failures.
const (
	FailTimeout   = "timeout"
	FailRefused   = "refused"
	FailReset     = "reset"
	FailTruncated = "truncated" // a stream ended without [DONE], or a body cut short
	FailOther     = "other"
)

// failure indexes the kinds above; failNone marks a request without one.
type failure int8

const (
	failNone failure = iota - 1
	failTimeout
	failRefused
	failReset
	failTruncated
	failOther
	nFailures
)

var failureNames = [nFailures]string{FailTimeout, FailRefused, FailReset, FailTruncated, FailOther}

// result is the outcome of one request; offsets are from Timeline.Start.
type result struct {
	class            int
	intended, sent   time.Duration
	end              time.Duration
	status           int
	fail             failure
	degraded         bool
	ttftEv, ttftCont time.Duration // from intended; < 0 = not seen
	gaps             []time.Duration
	tokens           int64
}

// bucket holds one class's results for one second of intended send times.
type bucket struct {
	completed, ok, errors, degraded, tokens, unsent int64
	status                                          map[int]int64
	failures                                        [nFailures]int64
	live                                            [nMetrics]*hdr.Histogram // recording; nil once compacted
	packed                                          [nMetrics]sparse         // compacted seconds
}

// Timeline holds the run's results in per-second, per-class buckets keyed by
// intended send time. It is safe to read while the generator records.
type Timeline struct {
	mu        sync.Mutex
	start     time.Time
	end       time.Time // zero while running
	classes   []string
	secs      [][]*bucket // [second][class]
	horizon   int         // seconds after which a second is compacted
	compacted int         // seconds [0, compacted) have been compacted once
	reopened  []*bucket   // compacted buckets that received late results
}

// newTimeline starts an empty timeline; results later than horizon after
// their second are still accepted (the bucket is reopened).
func newTimeline(classes []string, horizon time.Duration) *Timeline {
	return &Timeline{classes: classes, horizon: int(horizon/time.Second) + 2}
}

// begin sets time zero.
func (t *Timeline) begin(start time.Time) {
	t.mu.Lock()
	t.start = start
	t.mu.Unlock()
}

// finish marks the end of the run, which bounds Seconds and Rate windows.
func (t *Timeline) finish(end time.Time) {
	t.mu.Lock()
	t.end = end
	t.mu.Unlock()
}

// Start is time zero of the schedule: the intended send time of the first request.
func (t *Timeline) Start() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.start
}

// Classes lists the class names in configuration order.
func (t *Timeline) Classes() []string { return append([]string(nil), t.classes...) }

// bucketLocked returns the bucket of second sec for class, creating it.
func (t *Timeline) bucketLocked(sec, class int) *bucket {
	for len(t.secs) <= sec {
		t.secs = append(t.secs, make([]*bucket, len(t.classes)))
		t.compactLocked(len(t.secs) - 1)
	}
	b := t.secs[sec][class]
	if b == nil {
		b = &bucket{}
		t.secs[sec][class] = b
	}
	return b
}

// hist returns the live histogram of m, taking one from the pool if needed.
func (t *Timeline) hist(b *bucket, m metric, sec int) *hdr.Histogram {
	h := b.live[m]
	if h == nil {
		h = histPool.Get().(*hdr.Histogram)
		b.live[m] = h
		if sec < t.compacted {
			t.reopened = append(t.reopened, b)
		}
	}
	return h
}

// record adds one finished request.
func (t *Timeline) record(r *result) {
	sec := int(r.intended / time.Second)
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.bucketLocked(sec, r.class)
	b.completed++
	if r.status != 0 {
		if b.status == nil {
			b.status = make(map[int]int64, 2)
		}
		b.status[r.status]++
	}
	if r.fail != failNone {
		b.failures[r.fail]++
	}
	if r.fail != failNone || r.status < 200 || r.status > 299 {
		b.errors++
	} else {
		b.ok++
		if r.degraded {
			b.degraded++
		}
	}
	b.tokens += r.tokens
	recordDur(t.hist(b, mLatency, sec), r.end-r.intended)
	recordDur(t.hist(b, mService, sec), r.end-r.sent)
	recordDur(t.hist(b, mSendLag, sec), r.sent-r.intended)
	if r.ttftEv >= 0 {
		recordDur(t.hist(b, mTTFTEvent, sec), r.ttftEv)
	}
	if r.ttftCont >= 0 {
		recordDur(t.hist(b, mTTFTContent, sec), r.ttftCont)
	}
	if len(r.gaps) > 0 {
		h := t.hist(b, mInterToken, sec)
		for _, g := range r.gaps {
			recordDur(h, g)
		}
	}
}

// recordUnsent counts a request that was due at intended but never sent.
func (t *Timeline) recordUnsent(intended time.Duration, class int) {
	t.mu.Lock()
	t.bucketLocked(int(intended/time.Second), class).unsent++
	t.mu.Unlock()
}

// compactLocked runs when second newest opens: it compacts every second
// older than the horizon, and any reopened bucket.
func (t *Timeline) compactLocked(newest int) {
	for ; t.compacted < newest-t.horizon; t.compacted++ {
		for _, b := range t.secs[t.compacted] {
			if b != nil {
				b.compact()
			}
		}
	}
	for _, b := range t.reopened {
		b.compact()
	}
	t.reopened = t.reopened[:0]
}

// compactAll compacts every bucket; used when the run has ended.
func (t *Timeline) compactAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.compactLocked(len(t.secs) + t.horizon)
}

// compact moves live histograms into sparse form and recycles them.
func (b *bucket) compact() {
	for m, h := range b.live {
		if h == nil {
			continue
		}
		counts := h.Export().Counts
		b.packed[m].addTo(counts)
		b.packed[m].fromDense(counts)
		h.Reset()
		histPool.Put(h)
		b.live[m] = nil
	}
}

// memStats reports the live histograms and the bytes of sparse storage, for tests.
func (t *Timeline) memStats() (live int, sparseBytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, row := range t.secs {
		for _, b := range row {
			if b == nil {
				continue
			}
			for m := range b.live {
				if b.live[m] != nil {
					live++
				}
				sparseBytes += b.packed[m].bytes()
			}
		}
	}
	return live, sparseBytes
}
