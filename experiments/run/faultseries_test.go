package run

import (
	"context"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/faults"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/connection"
	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/report"
)

// seriesFault is a fault with the ExhaustSeries ability.
type seriesFault struct{ pts []connection.ExhaustPoint }

func (seriesFault) Validate() []units.Problem                { return nil }
func (seriesFault) Inject(context.Context, faults.Env) error { return nil }
func (seriesFault) Rollback(context.Context) error           { return nil }
func (f seriesFault) Series() []connection.ExhaustPoint      { return f.pts }

// nopFault measures nothing of itself.
type nopFault struct{}

func (nopFault) Validate() []units.Problem                { return nil }
func (nopFault) Inject(context.Context, faults.Env) error { return nil }
func (nopFault) Rollback(context.Context) error           { return nil }

// TestKeepFaultSeries: a fault with a series gets it in its report, as
// offsets from the run's start; one without keeps none.
func TestKeepFaultSeries(t *testing.T) {
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	e := &engine{start: start}
	with := &plannedFault{spec: experiments.FaultSpec{Params: seriesFault{pts: []connection.ExhaustPoint{
		{Time: start.Add(5 * time.Second), Addr: "127.0.0.1:8080", Held: 17, Reset: 49},
		{Time: start.Add(6500 * time.Millisecond), Addr: "127.0.0.1:8080", Held: 61, Refused: 2},
	}}}, rep: &report.FaultReport{}}
	e.keepFaultSeries(with)
	assert.Equal(t, []report.FaultPoint{
		{T: 5, Addr: "127.0.0.1:8080", Held: 17, Reset: 49},
		{T: 6.5, Addr: "127.0.0.1:8080", Held: 61, Refused: 2},
	}, with.rep.Series)

	without := &plannedFault{spec: experiments.FaultSpec{Params: nopFault{}}, rep: &report.FaultReport{}}
	e.keepFaultSeries(without)
	assert.Nil(t, without.rep.Series)
}
