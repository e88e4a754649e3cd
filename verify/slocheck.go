package verify

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// SLOCheck judges the load in its window against an SLO, optionally for one
// traffic class only (so shedding can be shown to spare high priority).
type SLOCheck struct {
	Class string `yaml:"class,omitempty" jsonschema:"description=judge only this traffic class (default: all)"`
	SLO   `yaml:",inline"`
}

var _ Check = (*SLOCheck)(nil)

// Validate requires at least one bound.
func (c *SLOCheck) Validate() []units.Problem { return c.SLO.Validate() }

// Evaluate judges the window's summary with SLO.Judge.
func (c *SLOCheck) Evaluate(_ context.Context, ev Evidence) Result {
	bound := c.Bound()
	if r, bad := windowProblem(ev.Window, "", bound); bad {
		return r
	}
	if ev.Timeline == nil {
		return failed("", bound, "no load ran %s", over(ev.Window, 0))
	}
	sum := ev.Timeline.Summary(ev.Window.From, ev.Window.To, c.Class)
	ok, measured, bound, reason := c.Judge(sum)
	if !ok {
		return failed(measured, bound, "%s%s %s", reason, classSuffix(c.Class), over(ev.Window, sum.Completed))
	}
	return held(measured, bound)
}
