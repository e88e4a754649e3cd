package verify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/invopop/jsonschema"
	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/chaos-sre/chaos/internal/units"
)

// PromQL query modes.
const (
	QueryInstant = "instant"
	QueryRange   = "range"
)

// PromQL range reductions.
const (
	ReduceMax  = "max"
	ReduceMin  = "min"
	ReduceAvg  = "avg"
	ReduceLast = "last"
)

// Defaults of a promql check.
const (
	DefaultPromQLTimeout = 10 * time.Second
	DefaultPromQLLag     = 2 * time.Second
)

// PromQLCheck asks a Prometheus server (its HTTP API) for an expression over
// the check's window and compares every series of the answer with min and
// max. mode instant (the default) evaluates the query once at the window's
// end with ${window} replaced by the window's length (e.g.
// max_over_time(gateway_breaker_state[${window}])); mode range asks
// query_range over the window at step and reduces each series (max, min, avg
// or last) before comparing.
type PromQLCheck struct {
	URL    string         `yaml:"url" jsonschema:"description=Prometheus server e.g. http://localhost:9090"`
	Query  PromQL         `yaml:"query" jsonschema:"description=PromQL; ${window} is the window's length e.g. max_over_time(gateway_breaker_state[${window}])"`
	Mode   string         `yaml:"mode,omitempty" jsonschema:"description=instant: once at the window's end; range: over the window at step,enum=instant,enum=range,default=instant"`
	Step   units.Duration `yaml:"step,omitempty" jsonschema:"description=range mode: resolution,default=1s"`
	Reduce string         `yaml:"reduce,omitempty" jsonschema:"description=range mode: what each series comes down to,enum=max,enum=min,enum=avg,enum=last,default=last"`
	Min    *float64       `yaml:"min,omitempty" jsonschema:"description=every series at least this"`
	Max    *float64       `yaml:"max,omitempty" jsonschema:"description=every series at most this"`
	// Lag waits after the window's end before asking, so the server has
	// scraped its last part.
	Lag     units.Duration `yaml:"lag,omitempty" jsonschema:"description=wait this long after the window before asking (scrape interval + a little),default=2s"`
	Timeout units.Duration `yaml:"timeout,omitempty" jsonschema:"default=10s"`
}

var _ Check = (*PromQLCheck)(nil)

// PromQL is a query text: stack ${vars} in it are expanded by the engine
// (ExpandVars), and ${window} is left for the check to fill in.
type PromQL struct{ text string }

// NewPromQL wraps a query text.
func NewPromQL(s string) PromQL { return PromQL{s} }

// String returns the query text.
func (q PromQL) String() string { return q.text }

// UnmarshalText reads the query text.
func (q *PromQL) UnmarshalText(b []byte) error { q.text = string(b); return nil }

// ExpandVars fills the query's ${vars} in with expand; ${window} is left
// for the check (the engine's expand leaves names it does not know).
func (q *PromQL) ExpandVars(expand func(string) string) { q.text = expand(q.text) }

// MarshalText writes the query text.
func (q PromQL) MarshalText() ([]byte, error) { return []byte(q.text), nil }

// JSONSchema says a query is written as a string.
func (PromQL) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Examples: []any{`max_over_time(gateway_breaker_state{upstream="primary"}[${window}])`}}
}

// Validate checks the URL, the query and the bounds.
func (c *PromQLCheck) Validate() []units.Problem {
	ps := checkURL("url", c.URL)
	if strings.TrimSpace(c.Query.text) == "" {
		ps = append(ps, units.Problemf("query", "is empty; want a PromQL expression, e.g. max_over_time(gateway_breaker_state[${window}])"))
	}
	switch c.Mode {
	case "", QueryInstant, QueryRange:
	default:
		ps = append(ps, units.Problemf("mode", "%q is not a mode (valid: instant, range)", c.Mode))
	}
	switch c.Reduce {
	case "", ReduceMax, ReduceMin, ReduceAvg, ReduceLast:
	default:
		ps = append(ps, units.Problemf("reduce", "%q is not a reduction (valid: max, min, avg, last)", c.Reduce))
	}
	if c.Reduce != "" && c.Mode != QueryRange {
		ps = append(ps, units.Problemf("reduce", "applies to mode: range only"))
	}
	if c.Step < 0 || c.Lag < 0 || c.Timeout < 0 {
		ps = append(ps, units.Problemf("", "step, lag and timeout must not be negative"))
	}
	if c.Min == nil && c.Max == nil {
		ps = append(ps, units.Problemf("", "has no bound; set min, max or both"))
	}
	if c.Min != nil && c.Max != nil && *c.Min > *c.Max {
		ps = append(ps, units.Problemf("min", "%s is above max %s", fmtNum(*c.Min), fmtNum(*c.Max)))
	}
	return ps
}

// promDuration prints d as a PromQL duration in whole seconds (at least 1s).
func promDuration(d time.Duration) string {
	return strconv.FormatInt(max(int64(math.Round(d.Seconds())), 1), 10) + "s"
}

// expr is the query with ${window} filled in for w.
func (c *PromQLCheck) expr(w Window) string {
	return strings.ReplaceAll(c.Query.text, "${window}", promDuration(w.To.Sub(w.From)))
}

func (c *PromQLCheck) bound() string {
	var b []string
	if c.Min != nil {
		b = append(b, "≥ "+fmtNum(*c.Min))
	}
	if c.Max != nil {
		b = append(b, "≤ "+fmtNum(*c.Max))
	}
	what := "every series"
	if c.Mode == QueryRange {
		what = "the " + cmp.Or(c.Reduce, ReduceLast) + " of every series"
	}
	return what + " " + strings.Join(b, " and ")
}

// Evaluate asks the server once the window (plus lag) is over.
func (c *PromQLCheck) Evaluate(ctx context.Context, ev Evidence) Result {
	bound := c.bound()
	w := ev.Window
	if r, bad := windowProblem(w, "", bound); bad {
		return r
	}
	lag := DefaultPromQLLag
	if c.Lag > 0 {
		lag = c.Lag.D()
	}
	if wait := time.Until(w.To.Add(lag)); wait > 0 {
		t := time.NewTimer(min(wait, lag))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return failed("", bound, "not asked: the run ended (%v)", context.Cause(ctx))
		}
	}
	timeout := DefaultPromQLTimeout
	if c.Timeout > 0 {
		timeout = c.Timeout.D()
	}
	qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	client, err := api.NewClient(api.Config{Address: c.URL})
	if err != nil {
		return failed("no answer", bound, "prometheus %s: %v", c.URL, err)
	}
	q := c.expr(w)
	values, err := c.query(qctx, promv1.NewAPI(client), q, w)
	if err != nil {
		return failed("no answer", bound, "query %s at %s: %v", q, c.URL, err)
	}
	if len(values) == 0 {
		return failed("no series", bound, "query %s returned no series over %s (add `or vector(0)` when no series means zero)", q, w)
	}
	return c.judge(q, values, bound, w)
}

// series is one series of an answer, reduced to a number.
type series struct {
	labels string
	value  float64
}

func (c *PromQLCheck) query(ctx context.Context, a promv1.API, q string, w Window) ([]series, error) {
	if c.Mode == QueryRange {
		step := time.Second
		if c.Step > 0 {
			step = c.Step.D()
		}
		v, _, _, err := a.QueryRange(ctx, q, promv1.Range{Start: w.From, End: w.To, Step: step})
		if err != nil {
			return nil, err
		}
		m, ok := v.(model.Matrix)
		if !ok {
			return nil, fmt.Errorf("a range query answered %s, not a matrix", v.Type())
		}
		var out []series
		for _, s := range m {
			if len(s.Values) > 0 {
				out = append(out, series{s.Metric.String(), reduce(s.Values, cmp.Or(c.Reduce, ReduceLast))})
			}
		}
		return out, nil
	}
	v, _, _, err := a.Query(ctx, q, w.To)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case model.Vector:
		out := make([]series, 0, len(v))
		for _, s := range v {
			out = append(out, series{s.Metric.String(), float64(s.Value)})
		}
		return out, nil
	case *model.Scalar:
		return []series{{"scalar", float64(v.Value)}}, nil
	}
	return nil, errors.New("the query answered " + v.Type().String() + "; want an instant vector or a scalar")
}

func reduce(ps []model.SamplePair, how string) float64 {
	switch how {
	case ReduceMax, ReduceMin:
		v := float64(ps[0].Value)
		for _, p := range ps[1:] {
			if f := float64(p.Value); (how == ReduceMax && f > v) || (how == ReduceMin && f < v) {
				v = f
			}
		}
		return v
	case ReduceAvg:
		sum := 0.0
		for _, p := range ps {
			sum += float64(p.Value)
		}
		return sum / float64(len(ps))
	}
	return float64(ps[len(ps)-1].Value)
}

// judge compares every series with the bounds; measured shows them (the
// first few, sorted by labels).
func (c *PromQLCheck) judge(q string, values []series, bound string, w Window) Result {
	sort.Slice(values, func(i, j int) bool { return values[i].labels < values[j].labels })
	var shown []string
	for i, s := range values {
		if i == 3 {
			shown = append(shown, fmt.Sprintf("… %d more", len(values)-3))
			break
		}
		if len(values) == 1 {
			shown = append(shown, fmtNum(s.value))
		} else {
			shown = append(shown, s.labels+" "+fmtNum(s.value))
		}
	}
	measured := q + " = " + strings.Join(shown, ", ")
	for _, s := range values {
		switch {
		case c.Min != nil && (s.value < *c.Min || math.IsNaN(s.value)):
			return failed(measured, bound, "%s is %s < %s over %s", s.labels, fmtNum(s.value), fmtNum(*c.Min), w)
		case c.Max != nil && (s.value > *c.Max || math.IsNaN(s.value)):
			return failed(measured, bound, "%s is %s > %s over %s", s.labels, fmtNum(s.value), fmtNum(*c.Max), w)
		}
	}
	return held(measured, bound)
}
