package verify

import (
	"context"
	"fmt"
	"strings"

	"github.com/chaos-sre/chaos/internal/units"
)

// DegradedCheck proves that degradation kicked in (or stayed limited): the
// share of degraded answers among completed requests in the window lies
// within bounds.
type DegradedCheck struct {
	Class    string         `yaml:"class,omitempty" jsonschema:"description=judge only this traffic class (default: all)"`
	MinShare *units.Percent `yaml:"min_share,omitempty" jsonschema:"description=degraded share at least"`
	MaxShare *units.Percent `yaml:"max_share,omitempty" jsonschema:"description=degraded share at most"`
	MinCount int            `yaml:"min_requests,omitempty" jsonschema:"description=fewest completed requests for a verdict,default=10"`
}

var _ Check = (*DegradedCheck)(nil)

// JudgesDegraded says the check needs the load to recognise a degraded
// answer (load.degraded).
func (*DegradedCheck) JudgesDegraded() bool { return true }

// Validate requires at least one bound, in order.
func (c *DegradedCheck) Validate() []units.Problem {
	var ps []units.Problem
	if c.MinShare == nil && c.MaxShare == nil {
		ps = append(ps, units.Problemf("", "has no bound; set min_share, max_share or both"))
	}
	if c.MinShare != nil && c.MaxShare != nil && *c.MinShare > *c.MaxShare {
		ps = append(ps, units.Problemf("min_share", "%s is above max_share %s", c.MinShare, c.MaxShare))
	}
	if c.MinCount < 0 {
		ps = append(ps, units.Problemf("min_requests", "%d is negative; want 1 or more (0 = default %d)", c.MinCount, DefaultMinRequests))
	}
	return ps
}

// Evaluate judges the degraded share of the window.
func (c *DegradedCheck) Evaluate(_ context.Context, ev Evidence) Result {
	var b []string
	if c.MinShare != nil {
		b = append(b, "degraded ≥ "+c.MinShare.String())
	}
	if c.MaxShare != nil {
		b = append(b, "degraded ≤ "+c.MaxShare.String())
	}
	bound := strings.Join(b, ", ")
	if r, bad := windowProblem(ev.Window, "", bound); bad {
		return r
	}
	if ev.Timeline == nil {
		return failed("", bound, "no load ran %s", over(ev.Window, 0))
	}
	sum := ev.Timeline.Summary(ev.Window.From, ev.Window.To, c.Class)
	got := fmtPct(sum.DegradedShare)
	measured := fmt.Sprintf("degraded %s (%d of %d requests)", got, sum.Degraded, sum.Completed)
	tail := classSuffix(c.Class) + " " + over(ev.Window, sum.Completed)
	min := SLO{MinCount: c.MinCount}.MinRequests()
	switch {
	case sum.Completed < min:
		return failed(measured, bound, "fewer requests than min_requests %d%s", min, tail)
	case c.MinShare != nil && sum.DegradedShare < c.MinShare.Fraction():
		return failed(measured, bound, "degraded %s < %s%s", got, c.MinShare, tail)
	case c.MaxShare != nil && sum.DegradedShare > c.MaxShare.Fraction():
		return failed(measured, bound, "degraded %s > %s%s", got, c.MaxShare, tail)
	}
	return held(measured, bound)
}
