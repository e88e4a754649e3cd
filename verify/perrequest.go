package verify

import (
	"fmt"
	"strings"
	"time"
)

// perRequest is one measurement of the per_request mode: the metric's growth
// over a span divided by the client requests the load sent in it.
type perRequest struct {
	value    float64
	growth   float64
	requests int64
	scrapes  int
}

func (p perRequest) String() string {
	return fmt.Sprintf("%s (%s over %d client requests, %d scrapes)", fmtRatio(p.value), fmtNum(p.growth), p.requests, p.scrapes)
}

func fmtRatio(f float64) string { return fmt.Sprintf("%.2f", f) }

// measurePerRequest measures over [from, to). The span is the one the load
// timeline actually covers (whole ticks), and the metric's growth is taken
// from the last scrape at or before its start to the first at or after its
// end, so that neither end is biased by a scrape interval.
func (c *PrometheusCheck) measurePerRequest(tl Load, from, to time.Time) (perRequest, error) {
	sum := tl.Summary(from, to, "")
	if !sum.From.IsZero() && sum.To.After(sum.From) {
		from, to = sum.From, sum.To
	}
	if sum.Completed == 0 {
		return perRequest{}, fmt.Errorf("no client requests completed between %s and %s", from.Format(time.TimeOnly), to.Format(time.TimeOnly))
	}
	got, lastErr := lazy(&c.scrapes).between(from.Add(-5*time.Second), to.Add(5*time.Second))
	var seq []scrape
	ended := false
	for _, sc := range got {
		switch {
		case len(sc.Series) == 0 || ended:
		case !sc.At.After(from):
			seq = []scrape{sc} // the latest at or before from starts it
		case sc.At.Before(to):
			seq = append(seq, sc)
		default:
			seq, ended = append(seq, sc), true // the first at or after to ends it
		}
	}
	if len(seq) < 2 {
		if lastErr != nil && len(got) == 0 {
			return perRequest{}, fmt.Errorf("no successful scrape: %w", lastErr)
		}
		return perRequest{}, fmt.Errorf("series %s found in %d of %d scrapes; growth needs 2", selector(c.Metric, c.Labels), len(seq), len(got))
	}
	growth := increase(seq)
	return perRequest{value: growth / float64(sum.Completed), growth: growth, requests: sum.Completed, scrapes: len(seq)}, nil
}

// baselineSpan is from the first scrape of the run to the first fault's
// start: the stack's own amplification before anything was injected.
func (c *PrometheusCheck) baselineSpan(ev Evidence) (from, to time.Time, ok bool) {
	for _, f := range ev.Faults {
		if !f.From.IsZero() && (to.IsZero() || f.From.Before(to)) {
			to = f.From
		}
	}
	if to.IsZero() {
		return from, to, false
	}
	all, _ := lazy(&c.scrapes).between(time.Time{}, to.Add(-time.Nanosecond))
	if len(all) == 0 {
		return from, to, false
	}
	return all[0].At, to, true
}

// evaluatePerRequest judges the per_request mode: the number over the
// window against min and max, and against max_over_baseline times its value
// over the baseline, which is measured whenever it is asked for so that the
// report shows it beside any failure.
func (c *PrometheusCheck) evaluatePerRequest(ev Evidence, name string) Result {
	var b []string
	if c.Min != nil {
		b = append(b, "≥ "+fmtNum(*c.Min))
	}
	if c.Max != nil {
		b = append(b, "≤ "+fmtNum(*c.Max))
	}
	if c.MaxOverBaseline != nil {
		b = append(b, "≤ "+fmtNum(*c.MaxOverBaseline)+" × baseline")
	}
	bound := name + " " + strings.Join(b, " and ")
	w := ev.Window
	if r, bad := windowProblem(w, "", bound); bad {
		return r
	}
	if ev.Timeline == nil {
		return failed("no load", bound, "per_request needs the run's load to count client requests; this run sent none")
	}
	now, err := c.measurePerRequest(ev.Timeline, w.From, w.To)
	if err != nil {
		return failed("no measurement", bound, "%s over %s: %v", name, w, err)
	}
	measured := name + " " + now.String()
	var base perRequest
	if c.MaxOverBaseline != nil {
		from, to, ok := c.baselineSpan(ev)
		if !ok {
			return failed(measured, bound, "no baseline to compare with: no scrape before the first fault")
		}
		if base, err = c.measurePerRequest(ev.Timeline, from, to); err != nil {
			return failed(measured, bound, "baseline of %s: %v", name, err)
		}
		measured += "; baseline " + base.String()
	}
	what := fmt.Sprintf("over %s (%s over %d client requests)", w, fmtNum(now.growth), now.requests)
	switch {
	case c.Min != nil && now.value < *c.Min:
		return failed(measured, bound, "%s %s < %s %s", name, fmtRatio(now.value), fmtNum(*c.Min), what)
	case c.Max != nil && now.value > *c.Max:
		return failed(measured, bound, "%s %s > %s %s", name, fmtRatio(now.value), fmtNum(*c.Max), what)
	case c.MaxOverBaseline != nil && now.value > base.value**c.MaxOverBaseline:
		return failed(measured, bound, "%s %s > %s × baseline %s = %s %s", name, fmtRatio(now.value),
			fmtNum(*c.MaxOverBaseline), fmtRatio(base.value), fmtRatio(base.value**c.MaxOverBaseline), what)
	}
	return held(measured, bound)
}
