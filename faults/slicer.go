package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// Slicer cuts the bytes through the tcp proxy route in front of the target
// into small slices with a delay between them: a peer that writes in bits.
type Slicer struct {
	AverageSize   int            `yaml:"average_size,omitempty" json:"average_size,omitempty" jsonschema:"description=bytes per slice on average,default=64,minimum=1"`
	SizeVariation int            `yaml:"size_variation,omitempty" json:"size_variation,omitempty" jsonschema:"description=± bytes around average_size,default=32,minimum=0"`
	Delay         units.Duration `yaml:"delay,omitempty" json:"delay,omitempty" jsonschema:"description=between slices,default=1ms"`
	Share         `yaml:",inline"`
	Direction     `yaml:",inline"`
	changes
}

var _ Fault = (*Slicer)(nil)

// Validate implements Fault.
func (f *Slicer) Validate() []units.Problem {
	var ps []units.Problem
	if f.AverageSize < 1 || f.SizeVariation < 0 || f.SizeVariation >= f.AverageSize {
		ps = append(ps, units.Problemf("size_variation", "average_size %d and size_variation %d do not fit (valid: average_size 1 or more, size_variation 0 to below average_size)", f.AverageSize, f.SizeVariation))
	}
	ps = append(append(ps, f.Share.validate()...), f.Direction.validate()...)
	return ps
}

// Inject implements Fault.
func (f *Slicer) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, "slicer", f)
}

// Rollback implements Fault.
func (f *Slicer) Rollback(ctx context.Context) error { return f.rollback(ctx) }
