//go:build linux

package network

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// Timing of the thread. It wakes releaseEarly before the next packet is
// due and lets go everything due by then: a packet leaves at most that
// early, and the wake-up's own lateness (tens of microseconds on a busy
// machine) mostly cancels it. ppoll(2) lets a timeout of t run late by
// t/1000, so no single wait is longer than maxWait.
const (
	releaseEarly = 20 * time.Microsecond
	maxWait      = 4 * time.Millisecond
)

// The share of one CPU the thread may take at real-time priority, measured
// over a second or more: past rtMaxShare it drops to normal priority, and
// it takes real-time priority back once a later second is under
// rtBackShare. Most of that CPU is the kernel's own packet path (reading
// the queue, re-injecting each packet on its verdict), work netem does in
// softirq ahead of every process; the cap is for a shaper that can no
// longer keep up, which at real-time priority would only take the CPU from
// the very senders it waits on.
const (
	rtMaxShare  = 0.9
	rtBackShare = 0.6
)

// run is the queue's thread. It owns an OS thread: Go's timers wake up to
// a millisecond late when the process is idle, and spinning for precision
// burns a core; ppoll with the thread's timer slack at 1 µs wakes within
// tens of microseconds, on a packet as well as on time. On a busy machine
// a normal thread still waits milliseconds for a CPU, so the thread asks
// for the lowest real-time priority (SCHED_FIFO 1, as root), as netem's
// timers run in the kernel ahead of every process; it mostly sleeps, and
// gives the priority back while it takes more than rtMaxShare of a CPU.
func (q *Queue) run() {
	defer q.done.Done() // on a thread of its own (goThrowaway), never the main one
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	rt := realtime(true)
	cpuAt, cpuWall := threadCPU(), q.now()
	n, size := 128, 2048
	if q.shape.needsPayload() {
		n, size = 16, 0xffff+4096
	}
	r := newBatchReader(n, size)
	fds := []unix.PollFd{{Fd: int32(q.sock.fd), Events: unix.POLLIN}, {Fd: int32(q.evfd), Events: unix.POLLIN}}
	var now, due []held
	var out []byte
	drained := q.now() // the socket was empty then
	polled := false    // the last wait ended on a packet
	for {
		closing := q.closing.Load()
		now = q.read(r, now[:0], drained, polled, closing)
		drained, polled = q.now(), false
		if len(now) > 0 {
			// Only when nothing is ever held is this the only verdict
			// being given, so a batch cannot take a held packet.
			q.verdicts(now, q.mode == modeNone, &out)
		}
		t := q.now()
		next := int64(-1)
		if q.mode == modeLine {
			due, next = q.line.popDue(due[:0], t+int64(releaseEarly), closing)
		} else {
			due, next = q.heap.popDue(due[:0], t+int64(releaseEarly), closing)
		}
		if len(due) > 0 {
			q.verdicts(due, q.mode == modeLine, &out)
		}
		if closing {
			return
		}
		if t-cpuWall > int64(time.Second) {
			c := threadCPU()
			rt = q.priority(rt, float64(c-cpuAt)/float64(t-cpuWall))
			cpuAt, cpuWall = c, t
		}
		if len(due) > 0 && next >= 0 && next-int64(releaseEarly) <= q.now() {
			continue
		}
		var ts *unix.Timespec
		wakeAt := int64(-1)
		if next >= 0 {
			wait := min(next-int64(releaseEarly)-q.now(), int64(maxWait))
			tt := unix.NsecToTimespec(max(wait, 0))
			ts, wakeAt = &tt, q.now()+max(wait, 0)
		}
		k, _ := unix.Ppoll(fds, ts, nil)
		switch {
		case k == 0 && wakeAt >= 0:
			// A timed wake-up: its lateness is the estimate of how late
			// the thread wakes on a packet too.
			q.wakeLag.add(q.now() - wakeAt)
		case k > 0 && fds[0].Revents&unix.POLLIN != 0:
			polled = true
		}
		if !polled {
			drained = q.now() // poll saw the socket empty just now
		}
		if fds[1].Revents&unix.POLLIN != 0 {
			var drain [8]byte
			_, _ = unix.Read(q.evfd, drain[:])
		}
	}
}

// priority says whether the thread is real-time after a second in which it
// took share of a CPU, and switches it when that changes.
func (q *Queue) priority(rt bool, share float64) bool {
	switch {
	case rt && share > rtMaxShare:
		q.Stats.Demoted.Add(1)
		return realtime(false)
	case !rt && share < rtBackShare && q.Stats.Demoted.Load() > 0:
		return realtime(true)
	}
	return rt
}

// realtime puts the calling thread at SCHED_FIFO 1 (on) or back to
// SCHED_OTHER, and says whether it is now real-time.
func realtime(on bool) bool {
	a := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL}
	if on {
		a.Policy, a.Priority = unix.SCHED_FIFO, 1
	}
	return unix.SchedSetAttr(0, &a, 0) == nil && on
}

func threadCPU() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

// lagWindow keeps the last 16 timed wake-ups' lateness; their least is
// the estimate of how late the thread wakes on a packet. Not the mean or
// the median: a timer fires from an interrupt into whatever holds the CPU,
// while a packet's wake-up mostly comes from a sender about to return to
// user space, so it is the quicker one; over-estimating would let packets
// out early, which netem never does.
type lagWindow struct {
	v [16]int64
	n int
}

func (w *lagWindow) add(late int64) {
	w.v[w.n%len(w.v)] = max(late, 0)
	w.n++
}

func (w *lagWindow) least() int64 {
	k := min(w.n, len(w.v))
	if k == 0 {
		return 0
	}
	return slices.Min(w.v[:k])
}

// read takes every packet waiting and decides each one's fate; it returns
// those due at once. A packet is timed from the kernel's stamp when it has
// one. Otherwise the messages of one read came between the last time the
// socket was empty (drained) and now: when a packet woke the thread, the
// first came its estimated wake-up lateness before the read, and the rest
// are spread evenly from there to the read.
func (q *Queue) read(r *batchReader, now []held, drained int64, polled, closing bool) []held {
	var stamped, lag uint64
	lo := drained
	for {
		k, _ := r.read(q.sock.fd)
		if k == 0 {
			break
		}
		at := time.Now()
		atNs := int64(at.Sub(q.base))
		half := 1 // they came at any time since lo: each is put mid-way in its share
		if polled {
			// the first one woke the thread: it came just before the wake
			lo, polled, half = max(lo, atNs-q.wakeLag.least()), false, 0
		}
		for i := range k {
			b := r.msg(i)
			if len(b) < unix.NLMSG_HDRLEN+4 || binary.NativeEndian.Uint16(b[4:6]) != msgPacket {
				continue
			}
			l := min(int(binary.NativeEndian.Uint32(b[0:4])), len(b))
			m := parsePacket(b[unix.NLMSG_HDRLEN+4 : max(l, unix.NLMSG_HDRLEN+4)])
			arrival := lo + (atNs-lo)*int64(2*i+half)/int64(2*k)
			if !m.stamp.IsZero() {
				// at carries a monotonic reading, the stamp only the wall
				// clock: Sub compares wall clocks. A stamp that is not
				// plausibly now is not trusted.
				if d := at.Sub(m.stamp); d > -time.Millisecond && d < time.Second {
					arrival = atNs - int64(max(d, 0))
					stamped++
				}
			}
			lag += uint64(atNs - arrival)
			if h, ok := q.decide(m, arrival, closing); ok {
				now = append(now, h)
			}
		}
		q.Stats.Seen.Add(uint64(k))
		lo = atNs
		if k < len(r.hdrs) {
			break
		}
	}
	q.Stats.Stamped.Add(stamped)
	q.Stats.ReadLag.Add(lag)
	return now
}

// decide draws one packet's fate and returns it when its verdict is due at
// once; otherwise the packet waits in the line or the heap.
func (q *Queue) decide(m packetMsg, arrival int64, closing bool) (held, bool) {
	s := &q.shape
	h := held{id: m.id, due: arrival}
	if s.Loss > 0 && q.correlated(&q.lastLos, s.LossCorr, q.rnd.Float64()) < s.Loss {
		q.Stats.Dropped.Add(1)
		h.drop = true
		return q.hold(h, false, closing)
	}
	if s.Corrupt > 0 && q.rnd.Float64() < s.Corrupt && len(m.payload) > 20 {
		h.payload = corrupt(m.payload, q.rnd)
		q.Stats.Corrupted.Add(1)
	}
	if s.Duplicate > 0 && q.rnd.Float64() < s.Duplicate && len(m.payload) >= 20 {
		h.dup = append([]byte(nil), m.payload...)
	}
	d := s.Delay
	if s.Jitter > 0 {
		r := q.correlated(&q.lastJit, s.Correlation, 2*q.rnd.Float64()-1)
		d += time.Duration(r * float64(s.Jitter))
	}
	h.due += int64(max(d, 0))
	if s.Rate > 0 {
		start := max(h.due, q.paceAt)
		if start-h.due > int64(s.rateQueue()) {
			q.Stats.Dropped.Add(1)
			h.drop, h.due = true, arrival
			return q.hold(h, false, closing)
		}
		q.paceAt = start + int64(float64(m.length)/float64(s.Rate)*float64(time.Second))
		h.due = q.paceAt
	}
	return q.hold(h, d > 0 || s.Rate > 0, closing)
}

// hold queues h for the releaser, or returns it for a verdict now. In the
// line every packet waits its turn, drops too: a batch verdict must never
// reach past a packet whose verdict is not accept.
func (q *Queue) hold(h held, delayed, closing bool) (held, bool) {
	if closing || q.mode == modeNone || (q.mode == modeHeap && !delayed) {
		return h, true
	}
	if q.mode == modeLine {
		if !h.drop {
			h.due = max(h.due, q.lastDue) // estimates and stamps may cross by microseconds
			q.lastDue = h.due
		}
		q.line.push(h)
	} else {
		q.heap.push(h)
	}
	if !h.drop {
		q.Stats.Held.Add(1)
	}
	return held{}, false
}

// correlated mixes a fresh draw with the last one, as netem does.
func (q *Queue) correlated(last *float64, corr, fresh float64) float64 {
	if corr <= 0 {
		return fresh
	}
	v := corr*(*last) + (1-corr)*fresh
	*last = v
	return v
}

// corrupt returns a copy of an IPv4 packet with one bit flipped past its
// header: the packet still goes where it went.
func corrupt(payload []byte, rnd *rand.Rand) []byte {
	p := append([]byte(nil), payload...)
	start := int(p[0]&0x0f) * 4
	if start >= len(p) {
		start = 0
	}
	i := start + rnd.IntN(len(p)-start)
	p[i] ^= 1 << rnd.IntN(8)
	return p
}

// verdicts sends the verdicts of hs (in the order the packets came) in as
// few writes as fit, then any duplicates. With batch, every plain accept
// goes in one NFQNL_MSG_VERDICT_BATCH after the others: the kernel has
// taken those out of its queue by then, so the batch (every queued id up
// to the last) reaches only packets in hs.
func (q *Queue) verdicts(hs []held, batch bool, out *[]byte) {
	b := (*out)[:0]
	var last uint32
	plain := false
	for _, h := range hs {
		switch {
		case h.drop:
			b = appendVerdict(b, q.Num, verdictDrop, h.id, nil)
		case h.payload != nil || !batch:
			b = appendVerdict(b, q.Num, verdictAccept, h.id, h.payload)
		default:
			last, plain = h.id, true
		}
		if len(b) > 60000 {
			_ = q.sock.write(b)
			b = b[:0]
		}
	}
	if plain {
		b = appendBatchVerdict(b, q.Num, verdictAccept, last)
	}
	if len(b) > 0 {
		_ = q.sock.write(b)
	}
	*out = b
	for _, h := range hs {
		if h.dup != nil && q.dup.send(h.dup) {
			q.Stats.Duplicated.Add(1)
		}
	}
}
