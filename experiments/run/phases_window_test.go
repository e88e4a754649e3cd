package run

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/load"
	"github.com/chaos-sre/chaos/verify/report"
)

// TestRollbackIsOneInstant: a rollback that takes 10.6 s (a container
// restart) once put a fault window at 4.0→16.7 s and the rollback line at
// 27.3 s. The rollback line, the end of the latest fault window, the
// recovery window and time-to-recover's zero are now one instant, and the
// time the rollbacks took is reported apart.
func TestRollbackIsOneInstant(t *testing.T) {
	gen, err := load.New(load.Config{URL: "http://127.0.0.1:1/", MaxDuration: time.Second})
	require.NoError(t, err)
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	sec := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	early := &plannedFault{spec: experiments.FaultSpec{Name: "early"}, rep: &report.FaultReport{Name: "early"}, start: sec(2), end: sec(9.2)}
	late := &plannedFault{spec: experiments.FaultSpec{Name: "late"}, rep: &report.FaultReport{Name: "late"}, start: sec(4), end: sec(16.7)}
	never := &plannedFault{spec: experiments.FaultSpec{Name: "never"}, rep: &report.FaultReport{Name: "never"}}
	e := &engine{exp: &experiments.Experiment{}, gen: gen, rep: &report.Report{Faults: make([]report.FaultReport, 3)},
		faults: []*plannedFault{early, late, never}, start: start, baselineEnd: sec(2)}

	done := sec(27.3) // the restart returned 10.6 s after it began
	e.rollbackAt = e.rollbackStartLocked(done)
	e.rep.Phases.RollbackDone = report.SecondsSince(start, done)
	e.end = sec(40)
	e.finish()

	assert.Equal(t, sec(16.7), e.rollbackAt, "rollback is when the last rollback began")
	p := e.rep.Phases
	assert.InDelta(t, 16.7, float64(p.Rollback), 1e-9)
	assert.Equal(t, p.Rollback, e.rep.Faults[1].End, "the rollback line is the end of the latest fault window")
	assert.Equal(t, p.Rollback, p.Recovery)
	assert.InDelta(t, 27.3, float64(p.RollbackDone), 1e-9)
	for _, during := range []string{"faults", "recovery"} {
		w := e.window(experiments.CheckSpec{Kind: "slo", During: during}, done)
		if during == "faults" {
			assert.Equal(t, sec(16.7), w.To)
		} else {
			assert.Equal(t, sec(16.7), w.From)
		}
	}
	assert.Equal(t, sec(16.7), e.evidence(&plannedCheck{spec: experiments.CheckSpec{Kind: "recover"}}, done).Rollback)

	// Nothing injected (aborted before the first fault): rollback is now.
	e.faults = []*plannedFault{never}
	assert.Equal(t, done, e.rollbackStartLocked(done))
}

// TestAfterOffsetSubSecond: `after:` offsets keep their sub-second part.
func TestAfterOffsetSubSecond(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := &plannedFault{spec: experiments.FaultSpec{Name: "slow"}, start: start.Add(4 * time.Second), end: start.Add(10 * time.Second)}
	e := &engine{faults: []*plannedFault{f}}
	var c experiments.CheckSpec
	c.During = "slow"
	require.NoError(t, c.After.UnmarshalText([]byte("250ms")))
	w := e.window(c, start)
	assert.Equal(t, start.Add(4250*time.Millisecond), w.From)
	assert.Equal(t, "slow +250ms", w.Name)
}
