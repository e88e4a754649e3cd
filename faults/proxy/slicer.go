package proxy

import (
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Slicer cuts the bytes through the tcp proxy route in front of the target
// into small slices with a delay between them: a peer that writes in bits.
type Slicer struct {
	AverageSize   int            `yaml:"average_size,omitempty" json:"average_size,omitempty" jsonschema:"description=bytes per slice on average,default=64,minimum=1"`
	SizeVariation int            `yaml:"size_variation,omitempty" json:"size_variation,omitempty" jsonschema:"description=± bytes around average_size,default=32,minimum=0"`
	Delay         units.Duration `yaml:"delay,omitempty" json:"delay,omitempty" jsonschema:"description=between slices,default=1ms"`
	Share         `yaml:",inline"`
	Flow          `yaml:",inline"`
}

// SlicerKind is the slicer kind; a spec sent to a route without
// average_size slices at 64 bytes.
var SlicerKind = Kind[Slicer]{
	Name:    "slicer",
	Summary: "cut bytes through a tcp proxy route into small slices with a delay between them",
	New: func() *Slicer {
		return &Slicer{AverageSize: 64, SizeVariation: 32, Delay: units.Duration(time.Millisecond), Share: All}
	},
	Bare: func() *Slicer { return &Slicer{AverageSize: 64} },
}

var _ tcpKind = (*Slicer)(nil)

// Validate implements Params.
func (f *Slicer) Validate() []units.Problem {
	var ps []units.Problem
	if f.AverageSize < 1 || f.SizeVariation < 0 || f.SizeVariation >= f.AverageSize {
		ps = append(ps, units.Problemf("size_variation", "average_size %d and size_variation %d do not fit (valid: average_size 1 or more, size_variation 0 to below average_size)", f.AverageSize, f.SizeVariation))
	}
	return append(append(ps, f.Share.validate()...), f.Flow.validate()...)
}

func (f *Slicer) tcp(_ Common, b connBase) (ConnFault, error) {
	if f.AverageSize < 1 || f.SizeVariation < 0 || f.SizeVariation >= f.AverageSize {
		return nil, fmt.Errorf("average_size %d and size_variation %d are not valid (valid: average_size 1 or more, size_variation from 0 to below average_size)", f.AverageSize, f.SizeVariation)
	}
	return &tcpSlicerFault{connBase: b, AvgSize: f.AverageSize, Variation: f.SizeVariation, Delay: f.Delay.D()}, nil
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
