package verify

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Breaker defaults.
const (
	DefaultBreakerWithin = 10 * time.Second
	// BreakerCloseLimit is how long after rollback a breaker with closes may
	// take to leave the open state (the engine's recovery phase bounds it too).
	BreakerCloseLimit = 30 * time.Second
)

// BreakerKind is the breaker check's kind: its series in a report are a
// breaker's state, 1 while open.
const BreakerKind = "breaker"

// BreakerCheck proves that a circuit breaker tripped within a time of the
// window's start, either from the breaker's own metric or from behaviour:
// once tripped, requests fail fast or fall back instead of waiting.
type BreakerCheck struct {
	Within units.Duration  `yaml:"within,omitempty" jsonschema:"description=how soon after the window starts the breaker must trip,default=10s"`
	Metric *BreakerMetric  `yaml:"metric,omitempty" jsonschema:"description=judge the breaker's state metric (set metric or fast)"`
	Fast   *units.Duration `yaml:"fast,omitempty" jsonschema:"description=judge behaviour: load p95 after within at most this (set metric or fast)"`
	Closes bool            `yaml:"closes,omitempty" jsonschema:"description=the breaker must no longer be open at the end of the run (metric only)"`

	scrapes *metricSampler // created on first use
}

// BreakerMetric names the breaker state series on a Prometheus text
// endpoint. When several series match, the breaker counts as open when any
// of them equals Open.
type BreakerMetric struct {
	URL    string            `yaml:"url" jsonschema:"description=Prometheus text endpoint e.g. ${gateway}/metrics"`
	Name   string            `yaml:"name" jsonschema:"description=metric name e.g. gateway_breaker_state"`
	Labels map[string]string `yaml:"labels,omitempty" jsonschema:"description=labels the series must have"`
	Open   *float64          `yaml:"open,omitempty" jsonschema:"description=the value that means open,default=1"`
}

var (
	_ Check   = (*BreakerCheck)(nil)
	_ Sampler = (*BreakerCheck)(nil)
	_ Waiter  = (*BreakerCheck)(nil)
)

func (m *BreakerMetric) open() float64 {
	if m.Open == nil {
		return 1
	}
	return *m.Open
}

// Validate requires exactly one of metric and fast.
func (c *BreakerCheck) Validate() []units.Problem {
	var ps []units.Problem
	if (c.Metric == nil) == (c.Fast == nil) {
		ps = append(ps, units.Problemf("", "set exactly one of metric (the breaker's state metric) or fast (a p95 latency bound)"))
	}
	if c.Metric != nil {
		ps = append(ps, checkURL("metric.url", c.Metric.URL)...)
		if c.Metric.Name == "" {
			ps = append(ps, units.Problemf("metric.name", "is empty; want a metric name, e.g. gateway_breaker_state"))
		}
	}
	if c.Fast != nil && c.Fast.D() <= 0 {
		ps = append(ps, units.Problemf("fast", "is 0; want a latency bound, e.g. 200ms"))
	}
	if c.Closes && c.Metric == nil {
		ps = append(ps, units.Problemf("closes", "needs metric (the breaker's state metric)"))
	}
	return ps
}

func (c *BreakerCheck) within() time.Duration { return cmp.Or(c.Within.D(), DefaultBreakerWithin) }

// Sample scrapes the state metric (metric mode only).
func (c *BreakerCheck) Sample(ctx context.Context, now time.Time, _ Window) {
	if m := c.Metric; m != nil {
		lazy(&c.scrapes).sample(ctx, now, m.URL, m.Name, m.Labels)
	}
}

// Done is true at once without closes; with closes, once a scrape after
// rollback shows the breaker not open.
func (c *BreakerCheck) Done(ev Evidence) bool {
	if !c.Closes || c.Metric == nil {
		return true
	}
	if ev.Rollback.IsZero() {
		return false
	}
	got, _ := lazy(&c.scrapes).landed(ev.Rollback, time.Time{})
	return len(got) > 0 && !c.isOpen(got[len(got)-1])
}

// Limit is BreakerCloseLimit with closes, else 0.
func (c *BreakerCheck) Limit() time.Duration {
	if c.Closes {
		return BreakerCloseLimit
	}
	return 0
}

// Evaluate judges the metric or the behaviour.
func (c *BreakerCheck) Evaluate(_ context.Context, ev Evidence) Result {
	if c.Metric != nil {
		return c.evaluateMetric(ev)
	}
	return c.evaluateFast(ev)
}

func (c *BreakerCheck) isOpen(sc scrape) bool {
	for _, v := range sc.Series {
		if v == c.Metric.open() {
			return true
		}
	}
	return false
}

func (c *BreakerCheck) evaluateMetric(ev Evidence) Result {
	m, w := c.Metric, ev.Window
	sel := selector(m.Name, m.Labels)
	bound := fmt.Sprintf("%s = %s within %s", sel, fmtNum(m.open()), c.within())
	if c.Closes {
		bound += ", then not open by the end of the run"
	}
	if r, bad := windowProblem(w, "", bound); bad {
		return r
	}
	got, lastErr := lazy(&c.scrapes).between(w.From, w.From.Add(c.within()))
	opened := -1
	matched := 0
	lo, hi := 0.0, 0.0
	for i, sc := range got {
		for _, v := range sc.Series {
			if matched == 0 || v < lo {
				lo = v
			}
			if matched == 0 || v > hi {
				hi = v
			}
			matched++
		}
		if opened < 0 && c.isOpen(sc) {
			opened = i
		}
	}
	if opened < 0 {
		switch {
		case matched > 0:
			return failed(fmt.Sprintf("not open: values %s..%s in %d scrapes", fmtNum(lo), fmtNum(hi), len(got)), bound,
				"breaker never opened within %s of %s: %s stayed in %s..%s over %d scrapes", c.within(), w, sel, fmtNum(lo), fmtNum(hi), len(got))
		case lastErr != nil:
			return failed("no scrape", bound, "no successful scrape within %s of %s: %v", c.within(), w, lastErr)
		default:
			return failed("no series", bound, "no series %s found in %d scrapes within %s of %s", sel, len(got), c.within(), w)
		}
	}
	after := got[opened].At.Sub(w.From)
	measured := "opened after " + fmtDur(after)
	if !c.Closes {
		return held(measured, bound)
	}
	if ev.Rollback.IsZero() {
		return failed(measured, bound, "opened after %s but the run ended without rollback, so closing could not be seen", fmtDur(after))
	}
	end, _ := lazy(&c.scrapes).between(ev.Rollback, time.Time{})
	if len(end) == 0 {
		return failed(measured, bound, "opened after %s; no scrape of %s after rollback to see it close", fmtDur(after), sel)
	}
	if last := end[len(end)-1]; c.isOpen(last) {
		return failed(measured+", still open", bound, "opened after %s but still open %s after rollback (last scrape)",
			fmtDur(after), fmtDur(last.At.Sub(ev.Rollback)))
	}
	return held(measured+", closed after rollback", bound)
}

func (c *BreakerCheck) evaluateFast(ev Evidence) Result {
	w := ev.Window
	bound := fmt.Sprintf("p95 ≤ %s from %s after the window starts", c.Fast, c.within())
	if r, bad := windowProblem(w, "", bound); bad {
		return r
	}
	from := w.From.Add(c.within())
	if !from.Before(w.To) {
		return failed("", bound, "window %s (%s) is no longer than within %s: nothing left to judge", w, fmtDur(w.To.Sub(w.From)), c.within())
	}
	if ev.Timeline == nil {
		return failed("", bound, "no load ran %s", over(w, 0))
	}
	sum := ev.Timeline.Summary(from, w.To, "")
	measured := fmt.Sprintf("p95 %s (%d requests)", fmtDur(sum.Latency.P95), sum.Completed)
	sub := Window{Name: fmt.Sprintf("%s +%s", w, c.within()), From: from, To: w.To}
	if sum.Completed < DefaultMinRequests {
		return failed(measured, bound, "fewer requests than %d %s", DefaultMinRequests, over(sub, sum.Completed))
	}
	if sum.Latency.P95 > c.Fast.D() {
		return failed(measured, bound, "requests still wait: p95 %s > %s %s", fmtDur(sum.Latency.P95), c.Fast, over(sub, sum.Completed))
	}
	return held(measured, bound)
}
