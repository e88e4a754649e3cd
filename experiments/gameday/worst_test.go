package gameday

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/experiments/run"
)

// TestWorstKnowsInconclusive: a game-day whose only problem is an
// inconclusive run exits 5; a failed run beside it wins with 1.
func TestWorstKnowsInconclusive(t *testing.T) {
	res := func(codes ...int) *Result {
		r := &Result{}
		for _, c := range codes {
			r.Reports = append(r.Reports, &run.Report{ExitCode: c})
		}
		return r
	}
	assert.Equal(t, run.ExitInconclusive, worst(res(run.ExitHeld, run.ExitInconclusive)))
	assert.Equal(t, run.ExitFailed, worst(res(run.ExitInconclusive, run.ExitFailed, run.ExitHeld)))
	assert.Equal(t, run.ExitTool, worst(res(run.ExitFailed, run.ExitTool)))
	assert.Equal(t, "inconclusive", verdict(run.ExitInconclusive))
}
