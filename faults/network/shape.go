package network

import (
	"sync/atomic"
	"time"
)

// Shape is what the consumer does to each packet it is given.
type Shape struct {
	Delay       time.Duration // added to every packet
	Jitter      time.Duration // ± uniform around Delay
	Correlation float64       // 0..1: how much each jitter draw follows the last
	Loss        float64       // 0..1: share of packets dropped
	LossCorr    float64       // 0..1
	Duplicate   float64       // 0..1: share of packets sent twice
	Corrupt     float64       // 0..1: share of packets with one bit flipped
	Rate        uint64        // bytes per second, 0: unlimited (a pacer)
	RateQueue   time.Duration // longest wait behind the pacer before a drop (default 200ms)
	Seed        uint64
}

// needsPayload says whether the consumer must see the packet's bytes.
func (s Shape) needsPayload() bool { return s.Duplicate > 0 || s.Corrupt > 0 }

// holds says whether packets wait in the consumer at all.
func (s Shape) holds() bool { return s.Delay > 0 || s.Jitter > 0 || s.Rate > 0 }

// QueueLen sizes the kernel queue to rate × delay: enough packets in flight
// for pps packets per second held twice the longest delay, plus 4096 for
// bursts (the consumer falls behind under CPU contention).
func (s Shape) QueueLen(pps int) uint32 {
	hold := s.Delay + s.Jitter
	if s.Rate > 0 {
		hold += s.rateQueue()
	}
	n := int(float64(pps)*hold.Seconds()*2) + 4096
	return uint32(min(n, 1<<20))
}

func (s Shape) rateQueue() time.Duration {
	if s.RateQueue > 0 {
		return s.RateQueue
	}
	return 200 * time.Millisecond
}

// QueueStats counts what the consumer did.
type QueueStats struct {
	Seen, Dropped, Duplicated, Corrupted, Held atomic.Uint64
	// Stamped counts the packets timed from the kernel's stamp of when it
	// queued them (NFQA_TIMESTAMP: the kernel gives it for packets that
	// came in on an interface); the others are timed from when the
	// consumer read them, less an estimate of how late it read them.
	Stamped atomic.Uint64
	// ReadLag sums, in nanoseconds, the time subtracted from the moment
	// the consumer read each packet to get when the kernel queued it:
	// measured for stamped packets, estimated for the others.
	ReadLag atomic.Uint64
	// Demoted counts the times the thread gave up its real-time priority:
	// it took more than rtMaxShare of a CPU over a second.
	Demoted atomic.Uint64
}
