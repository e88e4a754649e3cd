package verify

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Prometheus check modes.
const (
	ModeValue    = "value"
	ModeIncrease = "increase"
	ModeMax      = "max"
	ModeMin      = "min"
	// ModePerRequest is the increase over the window divided by the client
	// requests the run's load sent in it (perrequest.go).
	ModePerRequest = "per_request"
)

// PrometheusCheck scrapes a metric from a Prometheus text endpoint on every
// sample and judges one number over its window against min and max. The
// series matching the labels are summed: value is the sum at the last scrape
// in the window, max and min the largest and smallest sum over the scrapes,
// increase the growth over the window of each series (a drop is a counter
// reset: the new value counts as growth) added up, per_request that growth
// divided by the client requests the load sent in the window (upstream
// attempts per request: retry amplification), optionally bounded by its
// value over the baseline too.
type PrometheusCheck struct {
	URL    string            `yaml:"url" jsonschema:"description=Prometheus text endpoint e.g. ${gateway}/metrics"`
	Metric string            `yaml:"metric" jsonschema:"description=metric name (a summary or histogram's _count or _sum works too)"`
	Labels map[string]string `yaml:"labels,omitempty" jsonschema:"description=labels the series must have; matching series are summed"`
	Mode   string            `yaml:"mode,omitempty" jsonschema:"description=what to judge over the window; per_request: the increase divided by the client requests sent in the window,enum=value,enum=increase,enum=max,enum=min,enum=per_request,default=value"`
	Min    *float64          `yaml:"min,omitempty" jsonschema:"description=the number at least"`
	Max    *float64          `yaml:"max,omitempty" jsonschema:"description=the number at most"`
	// MaxOverBaseline bounds a per_request number by its own value over the
	// baseline (from the first scrape to the first fault) times this factor.
	MaxOverBaseline *float64 `yaml:"max_over_baseline,omitempty" jsonschema:"description=per_request only: the number at most this many times its value over the baseline (before the first fault) e.g. 1.5"`

	scrapes *metricSampler // created on first use
}

var (
	_ Check   = (*PrometheusCheck)(nil)
	_ Sampler = (*PrometheusCheck)(nil)
)

// Validate checks the URL, the name, the mode and the bounds.
func (c *PrometheusCheck) Validate() []units.Problem {
	ps := checkURL("url", c.URL)
	if c.Metric == "" {
		ps = append(ps, units.Problemf("metric", "is empty; want a metric name, e.g. gateway_requests_total"))
	}
	switch c.Mode {
	case "", ModeValue, ModeIncrease, ModeMax, ModeMin, ModePerRequest:
	default:
		ps = append(ps, units.Problemf("mode", "%q is not a mode (valid: value, increase, max, min, per_request)", c.Mode))
	}
	if c.Min == nil && c.Max == nil && c.MaxOverBaseline == nil {
		ps = append(ps, units.Problemf("", "has no bound; set min, max or both (or max_over_baseline with mode per_request)"))
	}
	if f := c.MaxOverBaseline; f != nil {
		if c.Mode != ModePerRequest {
			ps = append(ps, units.Problemf("max_over_baseline", "needs mode: per_request (a count per client request is what compares across windows)"))
		}
		if *f <= 0 {
			ps = append(ps, units.Problemf("max_over_baseline", "%s is not a factor (valid: more than 0, e.g. 1.5)", fmtNum(*f)))
		}
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		ps = append(ps, units.Problemf("min", "%s is above max %s", fmtNum(*c.Min), fmtNum(*c.Max)))
	}
	return ps
}

func (c *PrometheusCheck) mode() string {
	if c.Mode == "" {
		return ModeValue
	}
	return c.Mode
}

// Sample scrapes the metric.
func (c *PrometheusCheck) Sample(ctx context.Context, now time.Time, _ Window) {
	lazy(&c.scrapes).sample(ctx, now, c.URL, c.Metric, c.Labels)
}

// Evaluate computes the mode's number over the scrapes in the window.
func (c *PrometheusCheck) Evaluate(_ context.Context, ev Evidence) Result {
	sel := selector(c.Metric, c.Labels)
	name := c.mode() + " of " + sel
	if c.mode() == ModePerRequest {
		return c.evaluatePerRequest(ev, name)
	}
	var b []string
	if c.Min != nil {
		b = append(b, fmt.Sprintf("%s ≥ %s", name, fmtNum(*c.Min)))
	}
	if c.Max != nil {
		b = append(b, fmt.Sprintf("%s ≤ %s", name, fmtNum(*c.Max)))
	}
	bound := strings.Join(b, ", ")
	w := ev.Window
	if r, bad := windowProblem(w, "", bound); bad {
		return r
	}
	got, lastErr := lazy(&c.scrapes).between(w.From, w.To.Add(-time.Nanosecond))
	var found []scrape
	for _, sc := range got {
		if len(sc.Series) > 0 {
			found = append(found, sc)
		}
	}
	if len(found) == 0 {
		if lastErr != nil && len(got) == 0 {
			return failed("no scrape", bound, "no successful scrape over %s: %v", w, lastErr)
		}
		return failed("no series", bound, "no series %s found in %d scrapes over %s", sel, len(got), w)
	}
	series := found
	if c.mode() == ModeIncrease {
		series = c.fromBefore(w.From, found)
	}
	v := c.reduce(series)
	measured := fmt.Sprintf("%s %s (%d scrapes)", name, fmtNum(v), len(found))
	switch {
	case c.Min != nil && v < *c.Min:
		return failed(measured, bound, "%s %s < %s over %s (%d scrapes)", name, fmtNum(v), fmtNum(*c.Min), w, len(found))
	case c.Max != nil && v > *c.Max:
		return failed(measured, bound, "%s %s > %s over %s (%d scrapes)", name, fmtNum(v), fmtNum(*c.Max), w, len(found))
	}
	return held(measured, bound)
}

// fromBefore puts the last good scrape of the 5 s before from ahead of
// found, so growth is measured from there and a counter born in the first
// moments of the window counts whole.
func (c *PrometheusCheck) fromBefore(from time.Time, found []scrape) []scrape {
	before, _ := lazy(&c.scrapes).between(from.Add(-5*time.Second), from.Add(-time.Nanosecond))
	for i := len(before) - 1; i >= 0; i-- {
		if before[i].Err == nil {
			return append([]scrape{before[i]}, found...)
		}
	}
	return found
}

// reduce computes the mode's number over scrapes in time order.
func (c *PrometheusCheck) reduce(scrapes []scrape) float64 {
	if c.mode() == ModeIncrease {
		return increase(scrapes)
	}
	sums := make([]float64, len(scrapes))
	for i, sc := range scrapes {
		for _, v := range sc.Series {
			sums[i] += v
		}
	}
	switch c.mode() {
	case ModeMax:
		sort.Float64s(sums)
		return sums[len(sums)-1]
	case ModeMin:
		sort.Float64s(sums)
		return sums[0]
	}
	return sums[len(sums)-1]
}

// increase adds up each series' growth between consecutive scrapes; a drop
// is a counter reset, after which the new value is all growth. A series
// present at the window's first scrape starts from its value there; one that
// first shows up later was born inside the window (a labelled counter exists
// from its first increment), so all of its value is growth.
func increase(scrapes []scrape) float64 {
	last := map[string]float64{}
	total := 0.0
	for i, sc := range scrapes {
		for k, v := range sc.Series {
			prev, ok := last[k]
			switch {
			case ok && v >= prev:
				total += v - prev
			case ok || i > 0:
				total += v
			}
			last[k] = v
		}
	}
	return total
}
