package network

import "time"

// QdiscMajor is the handle major number of every qdisc chaos adds, so an
// undo deletes a root qdisc only when it is still ours.
const QdiscMajor = 0xc4a0

// Tbf is a token bucket: Rate bytes per second, Burst bytes, and packets
// waiting longer than Latency dropped.
type Tbf struct {
	Rate    uint64
	Burst   uint32
	Latency time.Duration
}

// Netem is the netem qdisc's parameters (where the kernel has it).
type Netem struct {
	Delay, Jitter      time.Duration
	Correlation        float64 // 0..1
	Loss, LossCorr     float64 // 0..1
	Duplicate, Corrupt float64 // 0..1
	Limit              uint32
}
