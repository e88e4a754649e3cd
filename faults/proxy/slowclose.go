package proxy

import (
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// SlowClose holds the close of connections through the tcp proxy route in
// front of the target for a while after the sender has closed.
type SlowClose struct {
	Delay units.Duration `yaml:"delay" json:"delay" jsonschema:"description=how long the close is held,default=1s"`
	Share `yaml:",inline"`
	Flow  `yaml:",inline"`
}

// SlowCloseKind is the slow-close kind.
var SlowCloseKind = Kind[SlowClose]{
	Name:    "slow-close",
	Summary: "hold the close of connections through a tcp proxy route after the sender closed",
	New:     func() *SlowClose { return &SlowClose{Delay: units.Duration(time.Second), Share: All} },
}

var _ tcpKind = (*SlowClose)(nil)

// Validate implements Params.
func (f *SlowClose) Validate() []units.Problem {
	var ps []units.Problem
	if f.Delay <= 0 {
		ps = append(ps, units.Problemf("delay", "must be more than 0 (valid: e.g. 1s)"))
	}
	return append(append(ps, f.Share.validate()...), f.Flow.validate()...)
}

func (f *SlowClose) tcp(_ Common, b connBase) (ConnFault, error) {
	return &tcpSlowCloseFault{connBase: b, Delay: f.Delay.D()}, nil
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
