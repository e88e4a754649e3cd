package proxy

import (
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Bandwidth caps the bytes per second through the tcp proxy route in front
// of the target, in one direction.
type Bandwidth struct {
	RateKB int64 `yaml:"rate_kb" json:"rate_kb" jsonschema:"description=kilobytes (1024 bytes) per second,default=64,minimum=1"`
	Share  `yaml:",inline"`
	Flow   `yaml:",inline"`
}

// BandwidthKind is the bandwidth kind.
var BandwidthKind = Kind[Bandwidth]{
	Name:    "bandwidth",
	Summary: "cap bytes per second through a tcp proxy route in front of the target",
	New:     func() *Bandwidth { return &Bandwidth{RateKB: 64, Share: All} },
}

var _ tcpKind = (*Bandwidth)(nil)

// Validate implements Params.
func (f *Bandwidth) Validate() []units.Problem {
	var ps []units.Problem
	if f.RateKB < 1 {
		ps = append(ps, units.Problemf("rate_kb", "%d is too low (valid: 1 or more KB/s)", f.RateKB))
	}
	return append(append(ps, f.Share.validate()...), f.Flow.validate()...)
}

func (f *Bandwidth) tcp(_ Common, b connBase) (ConnFault, error) {
	if f.RateKB < 1 {
		return nil, fmt.Errorf("rate_kb %d is too low (valid: 1 KB/s or more)", f.RateKB)
	}
	return &tcpBandwidthFault{connBase: b, Rate: f.RateKB * 1024}, nil
}

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
