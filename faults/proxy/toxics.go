package proxy

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

var errReset = errors.New("connection reset by chaos")

// tcpLatencyFault delays every chunk by Delay (+ jitter) from when it was
// read; with Open it also holds the connection's opening (the upstream is
// dialed, and bytes move, only after Delay).
type tcpLatencyFault struct {
	connBase
	Delay, Jitter time.Duration
	Upto, Hold    bool
}

type tcpLatencyToxic struct{ *tcpLatencyFault }

// Open implements ConnFault.
func (f *tcpLatencyFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpLatencyToxic{f}
}

func (t tcpLatencyToxic) d() time.Duration {
	if t.Upto {
		return t.Delay + t.Chance.Upto(t.Jitter)
	}
	return t.Delay + t.Chance.Jitter(t.Jitter)
}

func (t tcpLatencyToxic) open(c *tcpConn) error {
	if t.Hold && !c.wait(t.d(), t.removed) {
		return errClosed
	}
	return nil
}

func (t tcpLatencyToxic) chunk(c *tcpConn, b []byte, at time.Time, next func([]byte) error) error {
	if !c.wait(time.Until(at.Add(t.d())), t.removed) {
		return errClosed
	}
	return next(b)
}

func tcpLatencyBuild(p []byte, b connBase, upto bool) (ConnFault, error) {
	var v latencyParams
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &tcpLatencyFault{connBase: b, Delay: v.Delay.D(), Jitter: v.Jitter.D(), Upto: upto, Hold: v.Open}, nil
}

func tcpLatency(p []byte, b connBase) (ConnFault, error) { return tcpLatencyBuild(p, b, false) }
func tcpJitter(p []byte, b connBase) (ConnFault, error)  { return tcpLatencyBuild(p, b, true) }

// tcpBandwidthFault caps a direction at Rate bytes per second.
type tcpBandwidthFault struct {
	connBase
	Rate int64
}

// Open implements ConnFault.
func (f *tcpBandwidthFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return f
}

func (f *tcpBandwidthFault) chunk(c *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	step := max(int(f.Rate/20), 1) // 50 ms worth at a time
	for len(b) > 0 {
		n := min(step, len(b))
		if err := next(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if !c.wait(time.Duration(int64(n)*int64(time.Second)/f.Rate), f.removed) {
			return errClosed
		}
	}
	return nil
}

func tcpBandwidth(p []byte, b connBase) (ConnFault, error) {
	var v struct {
		Common
		RateKB int64 `json:"rate_kb"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if v.RateKB < 1 {
		return nil, fmt.Errorf("rate_kb %d is too low (valid: 1 KB/s or more)", v.RateKB)
	}
	return &tcpBandwidthFault{connBase: b, Rate: v.RateKB * 1024}, nil
}

// tcpResetFault resets the connection (RST, "connection reset by peer")
// Timeout after it was accepted; 0 resets it at once.
type tcpResetFault struct {
	connBase
	Timeout time.Duration
}

type tcpResetToxic struct{ *tcpResetFault }

// Open implements ConnFault.
func (f *tcpResetFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpResetToxic{f}
}

func (t tcpResetToxic) open(c *tcpConn) error {
	if t.Timeout <= 0 {
		c.kill(true)
		return errReset
	}
	timer := time.AfterFunc(t.Timeout, func() {
		if !t.gone() {
			c.kill(true)
		}
	})
	go func() { <-c.done; timer.Stop() }()
	return nil
}

func (t tcpResetToxic) chunk(_ *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	return next(b)
}

func tcpReset(p []byte, b connBase) (ConnFault, error) {
	var v struct {
		Common
		Timeout units.Duration `json:"timeout"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &tcpResetFault{connBase: b, Timeout: v.Timeout.D()}, nil
}

// tcpBlackholeFault drops every byte in its direction; it closes the
// connection Timeout after it was accepted (0: never, until the fault is
// removed — then it closes it, since bytes were lost).
type tcpBlackholeFault struct {
	connBase
	Timeout time.Duration
}

type tcpBlackholeToxic struct{ *tcpBlackholeFault }

// Open implements ConnFault.
func (f *tcpBlackholeFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpBlackholeToxic{f}
}

func (t tcpBlackholeToxic) open(c *tcpConn) error {
	go func() {
		var after <-chan time.Time
		if t.Timeout > 0 {
			tm := time.NewTimer(t.Timeout)
			defer tm.Stop()
			after = tm.C
		}
		select {
		case <-after:
		case <-t.removed:
		case <-c.done:
			return
		}
		c.kill(false)
	}()
	return nil
}

func (t tcpBlackholeToxic) chunk(*tcpConn, []byte, time.Time, func([]byte) error) error {
	return nil
}

func tcpBlackhole(p []byte, b connBase) (ConnFault, error) {
	var v struct {
		Common
		Timeout units.Duration `json:"timeout"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &tcpBlackholeFault{connBase: b, Timeout: v.Timeout.D()}, nil
}

// tcpSlowCloseFault holds the close of its direction for Delay after the
// source has ended.
type tcpSlowCloseFault struct {
	connBase
	Delay time.Duration
}

// Open implements ConnFault.
func (f *tcpSlowCloseFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return f
}

func (f *tcpSlowCloseFault) eof(c *tcpConn) { c.wait(f.Delay, f.removed) }

func (f *tcpSlowCloseFault) chunk(_ *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	return next(b)
}

func tcpSlowClose(p []byte, b connBase) (ConnFault, error) {
	var v struct {
		Common
		Delay units.Duration `json:"delay"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	return &tcpSlowCloseFault{connBase: b, Delay: v.Delay.D()}, nil
}

// tcpSlicerFault cuts every chunk into slices of AvgSize ± Variation bytes
// with Delay between them: a peer that sends in small pieces.
type tcpSlicerFault struct {
	connBase
	AvgSize, Variation int
	Delay              time.Duration
}

// Open implements ConnFault.
func (f *tcpSlicerFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return f
}

func (f *tcpSlicerFault) chunk(c *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	for len(b) > 0 {
		n := f.AvgSize - f.Variation + f.Chance.Intn(2*f.Variation+1)
		n = min(max(n, 1), len(b))
		if err := next(b[:n]); err != nil {
			return err
		}
		b = b[n:]
		if len(b) > 0 && !c.wait(f.Delay, f.removed) {
			return errClosed
		}
	}
	return nil
}

func tcpSlicer(p []byte, b connBase) (ConnFault, error) {
	v := struct {
		Common
		AvgSize   int            `json:"average_size"`
		Variation int            `json:"size_variation"`
		Delay     units.Duration `json:"delay"`
	}{AvgSize: 64}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if v.AvgSize < 1 || v.Variation < 0 || v.Variation >= v.AvgSize {
		return nil, fmt.Errorf("average_size %d and size_variation %d are not valid (valid: average_size 1 or more, size_variation from 0 to below average_size)", v.AvgSize, v.Variation)
	}
	return &tcpSlicerFault{connBase: b, AvgSize: v.AvgSize, Variation: v.Variation, Delay: v.Delay.D()}, nil
}

// tcpLimitDataFault closes the connection once Bytes have passed in its
// direction.
type tcpLimitDataFault struct {
	connBase
	Bytes int64
}

type tcpLimitDataToxic struct {
	*tcpLimitDataFault
	mu     sync.Mutex
	passed int64
}

// Open implements ConnFault.
func (f *tcpLimitDataFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return &tcpLimitDataToxic{tcpLimitDataFault: f}
}

func (t *tcpLimitDataToxic) chunk(_ *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	left := t.Bytes - t.passed
	if int64(len(b)) < left {
		t.passed += int64(len(b))
		return next(b)
	}
	if left > 0 {
		if err := next(b[:left]); err != nil {
			return err
		}
	}
	t.passed = t.Bytes
	return errClosed
}

func tcpLimitData(p []byte, b connBase) (ConnFault, error) {
	var v struct {
		Common
		Bytes int64 `json:"bytes"`
	}
	if err := decodeParams(p, &v); err != nil {
		return nil, err
	}
	if v.Bytes < 0 {
		return nil, fmt.Errorf("bytes %d is negative (valid: 0 or more)", v.Bytes)
	}
	return &tcpLimitDataFault{connBase: b, Bytes: v.Bytes}, nil
}
