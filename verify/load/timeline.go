package load

import (
	"encoding/binary"
	"sync"
	"time"
	"unsafe"
)

// Resolution is the width of the timeline's buckets: windows, `after:`
// offsets and time-to-recover are cut at it. Per-second views (Seconds, the
// report's charts) merge ten buckets.
const Resolution = 100 * time.Millisecond

// ticksPerSec is the number of buckets in a second.
const ticksPerSec = int(time.Second / Resolution)

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
	due              time.Duration // its time in the schedule: the tick recordDue counted it in
	intended, sent   time.Duration
	waited           time.Duration // in the backlog for a busy worker (part of sent − intended)
	end              time.Duration
	status           int
	fail             failure
	degraded         bool
	ttftEv, ttftCont time.Duration // from intended; < 0 = not seen
	ttfb             time.Duration // from intended to the first byte of the answer; < 0 = none
	dialed           bool          // the request opened a connection (or tried to)
	connectFail      bool          // ... and it failed: refused, timed out, reset before any byte
	connect          time.Duration // TCP connect time when dialed and connected
	gaps             []time.Duration
	tokens           int64
}

// counter indexes a bucket's counts; the failure kinds follow them.
const (
	cCompleted = iota
	cOK
	cErrors
	cDegraded
	cTokens
	cUnsent
	cConnects      // connections attempted
	cConnectErrors // ... of which failed before any byte came back
	cDue           // taken from the schedule: completed, unsent or in flight
	cFailures      // first of nFailures failure counts
	nCounters      = cFailures + int(nFailures)
)

// bucket holds one class's results for one Resolution of intended send
// times while it may still receive them: counts, and the histogram index of
// every recorded value. Once older than the horizon it is frozen into a few
// varint-encoded bytes (see freeze).
type bucket struct {
	n      [nCounters]int64
	status map[int]int64
	vals   [nMetrics][]uint16 // histIndex of each recorded value
	packed [nMetrics]sparse   // earlier values of a thawed bucket
}

// slot is one class's bucket of one tick: live while recording, frozen after.
type slot struct {
	live   *bucket
	frozen []byte // immutable once set: read without the lock
}

// Timeline holds the run's results in per-tick (Resolution), per-class
// buckets keyed by intended send time. Memory stays bounded on long runs:
// a live bucket keeps two bytes per recorded value until it is older than
// the horizon, then freezes into its counts and sparse histograms (a few
// hundred bytes at most per class and tick; see TestMemoryPerHour). It is safe
// to read while the generator records.
type Timeline struct {
	mu        sync.Mutex
	start     time.Time
	end       time.Time // zero while running
	classes   []string
	ticks     [][]slot // [tick][class]
	horizon   int      // ticks after which a tick is frozen
	compacted int      // ticks [0, compacted) have been frozen once
	reopened  []*slot  // frozen slots that received late results
}

// newTimeline starts an empty timeline; results later than horizon after
// their tick are still accepted (the bucket is thawed and frozen again).
func newTimeline(classes []string, horizon time.Duration) *Timeline {
	return &Timeline{classes: classes, horizon: int(horizon/Resolution) + 2*ticksPerSec}
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

// bucketLocked returns the live bucket of tick tk for class, creating or
// thawing it.
func (t *Timeline) bucketLocked(tk, class int) *bucket {
	for len(t.ticks) <= tk {
		t.ticks = append(t.ticks, make([]slot, len(t.classes)))
		t.compactLocked(len(t.ticks) - 1)
	}
	s := &t.ticks[tk][class]
	if s.live == nil {
		s.live = thaw(s.frozen)
		if s.frozen != nil || tk < t.compacted {
			t.reopened = append(t.reopened, s)
		}
		s.frozen = nil
	}
	return s.live
}

// tickOf is the tick of an offset from Start (negative offsets land in 0).
func tickOf(d time.Duration) int { return max(int(d/Resolution), 0) }

// record adds one finished request.
func (t *Timeline) record(r *result) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The tick it was counted due in, not that of intended: a request handed
	// out early (earlyBy) is measured from its send, which can fall in the
	// tick before, and then one window would keep it in flight for ever.
	b := t.bucketLocked(tickOf(r.due), r.class)
	b.n[cCompleted]++
	if r.status != 0 {
		if b.status == nil {
			b.status = make(map[int]int64, 2)
		}
		b.status[r.status]++
	}
	if r.fail != failNone {
		b.n[cFailures+int(r.fail)]++
	}
	if r.fail != failNone || r.status < 200 || r.status > 299 {
		b.n[cErrors]++
	} else {
		b.n[cOK]++
		if r.degraded {
			b.n[cDegraded]++
		}
	}
	b.n[cTokens] += r.tokens
	add := func(m metric, d time.Duration) { b.vals[m] = append(b.vals[m], durIndex(d)) }
	add(mLatency, r.end-r.intended)
	add(mService, r.end-r.sent)
	add(mSendLag, r.sent-r.intended)
	if r.waited > 0 {
		add(mLagWaited, r.sent-r.intended)
		add(mOwnWaited, max(r.sent-r.intended-r.waited, 0))
	}
	if r.ttftEv >= 0 {
		add(mTTFTEvent, r.ttftEv)
	}
	if r.ttftCont >= 0 {
		add(mTTFTContent, r.ttftCont)
	}
	if r.ttfb >= 0 {
		add(mTTFB, r.ttfb)
	}
	if r.dialed {
		b.n[cConnects]++
		if r.connectFail {
			b.n[cConnectErrors]++
		} else {
			add(mConnect, r.connect)
		}
	}
	for _, g := range r.gaps {
		add(mInterToken, g)
	}
}

// recordDue counts a request taken from the schedule (it will complete, or
// be counted unsent): with them a window knows what is still in flight.
func (t *Timeline) recordDue(intended time.Duration, class int) {
	t.mu.Lock()
	t.bucketLocked(tickOf(intended), class).n[cDue]++
	t.mu.Unlock()
}

// recordUnsent counts a request that was due at intended but never sent.
func (t *Timeline) recordUnsent(intended time.Duration, class int) {
	t.mu.Lock()
	t.bucketLocked(tickOf(intended), class).n[cUnsent]++
	t.mu.Unlock()
}

// compactLocked runs when tick newest opens: it freezes every tick older
// than the horizon, and any reopened slot.
func (t *Timeline) compactLocked(newest int) {
	for ; t.compacted < newest-t.horizon && t.compacted < len(t.ticks); t.compacted++ {
		for i := range t.ticks[t.compacted] {
			t.ticks[t.compacted][i].freeze()
		}
	}
	for _, s := range t.reopened {
		s.freeze()
	}
	t.reopened = t.reopened[:0]
}

// compactAll freezes every bucket; used when the run has ended.
func (t *Timeline) compactAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.compactLocked(len(t.ticks) + t.horizon)
}

// freeze encodes a live bucket as varints: a bitmask of the non-zero
// counters and their values, the status counts, then a bitmask of the
// non-empty histograms and each one's length and sparse bytes.
func (s *slot) freeze() {
	b := s.live
	if b == nil {
		return
	}
	var buf []byte
	var mask uint64
	for i, v := range b.n {
		if v != 0 {
			mask |= 1 << i
		}
	}
	buf = binary.AppendUvarint(buf, mask)
	for _, v := range b.n {
		if v != 0 {
			buf = binary.AppendUvarint(buf, uint64(v))
		}
	}
	buf = binary.AppendUvarint(buf, uint64(len(b.status)))
	for code, n := range b.status {
		buf = binary.AppendUvarint(buf, uint64(code))
		buf = binary.AppendUvarint(buf, uint64(n))
	}
	mask = 0
	for m := range b.vals {
		if len(b.vals[m]) > 0 || len(b.packed[m]) > 0 {
			mask |= 1 << m
		}
	}
	buf = binary.AppendUvarint(buf, mask)
	var h []byte
	for m := range b.vals {
		if mask&(1<<m) == 0 {
			continue
		}
		h = appendSparse(h[:0], b.vals[m], b.packed[m])
		buf = binary.AppendUvarint(buf, uint64(len(h)))
		buf = append(buf, h...)
	}
	s.frozen = append(make([]byte, 0, len(buf)), buf...) // exact size
	s.live = nil
}

// frozenBucket is a decoded frozen slot: counts, status and sparse
// histograms that alias the frozen bytes.
type frozenBucket struct {
	n      [nCounters]int64
	status [][2]int64
	hists  [nMetrics]sparse
}

// decode reads what freeze wrote.
func decode(b []byte) (f frozenBucket) {
	next := func() uint64 {
		v, n := binary.Uvarint(b)
		b = b[n:]
		return v
	}
	mask := next()
	for i := range f.n {
		if mask&(1<<i) != 0 {
			f.n[i] = int64(next())
		}
	}
	for k := next(); k > 0; k-- {
		code := next()
		f.status = append(f.status, [2]int64{int64(code), int64(next())})
	}
	mask = next()
	for m := range f.hists {
		if mask&(1<<m) != 0 {
			n := next()
			f.hists[m], b = sparse(b[:n]), b[n:]
		}
	}
	return f
}

// thaw turns frozen bytes (nil: none) back into a live bucket.
func thaw(b []byte) *bucket {
	out := &bucket{}
	if b == nil {
		return out
	}
	f := decode(b)
	out.n = f.n
	if len(f.status) > 0 {
		out.status = make(map[int]int64, len(f.status))
		for _, s := range f.status {
			out.status[int(s[0])] = s[1]
		}
	}
	out.packed = f.hists
	return out
}

// memStats reports the live recorded values and the bytes of frozen
// storage (slots included), for tests.
func (t *Timeline) memStats() (liveVals int, frozenBytes int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, row := range t.ticks {
		frozenBytes += cap(row) * int(unsafe.Sizeof(slot{}))
		for _, s := range row {
			if s.live != nil {
				for m := range s.live.vals {
					liveVals += len(s.live.vals[m])
				}
			}
			frozenBytes += cap(s.frozen)
		}
	}
	return liveVals, frozenBytes
}
