package experiments

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/internal/units"
)

// Condition is a parsed abort condition such as "error_rate > 50%".
type Condition struct {
	Metric string // one of ConditionMetrics
	Op     string // >, >=, <, <=
	// Value is a fraction (0.5 for 50%) for error_rate and degraded_share,
	// and seconds for the latency percentiles.
	Value float64
}

// ConditionMetrics is every metric an abort condition can test, in the
// order they are listed in messages.
var ConditionMetrics = []string{"error_rate", "degraded_share", "p50", "p95", "p99", "ttft_p99"}

var conditionOps = []string{">=", "<=", ">", "<"}

// IsShare reports whether the metric is a share (a percentage) rather than
// a latency.
func (c Condition) IsShare() bool { return c.Metric == "error_rate" || c.Metric == "degraded_share" }

// Holds reports whether the condition holds for a measured value (a fraction
// or seconds, like Value).
func (c Condition) Holds(measured float64) bool {
	switch c.Op {
	case ">":
		return measured > c.Value
	case ">=":
		return measured >= c.Value
	case "<":
		return measured < c.Value
	case "<=":
		return measured <= c.Value
	}
	return false
}

// String prints the condition back in its written form.
func (c Condition) String() string {
	if c.IsShare() {
		return fmt.Sprintf("%s %s %s", c.Metric, c.Op, units.Percent(c.Value))
	}
	return fmt.Sprintf("%s %s %s", c.Metric, c.Op, units.Duration(c.Value*1e9))
}

// ParseCondition parses "<metric> <op> <value>", e.g. "error_rate > 50%" or
// "p99 >= 5s"; spaces around the operator are optional. Its errors say what
// would be valid.
func ParseCondition(s string) (Condition, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "<>")
	if i < 0 {
		return Condition{}, fmt.Errorf("%q is not a condition (valid: <metric> <op> <value>, e.g. error_rate > 50%% or p99 > 5s)", s)
	}
	c := Condition{Metric: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range conditionOps {
		if strings.HasPrefix(rest, op) {
			c.Op, rest = op, strings.TrimSpace(rest[len(op):])
			break
		}
	}
	if !slices.Contains(ConditionMetrics, c.Metric) {
		return Condition{}, fmt.Errorf("unknown metric %q in %q%s", c.Metric, s, validList(c.Metric, ConditionMetrics))
	}
	if rest == "" || strings.ContainsAny(rest, "<>=") {
		return Condition{}, fmt.Errorf("%q needs one operator and a value (valid operators: >, >=, <, <=)", s)
	}
	if c.IsShare() {
		var p units.Percent
		if err := p.UnmarshalText([]byte(rest)); err != nil {
			return Condition{}, fmt.Errorf("%s is a share: %w", c.Metric, err)
		}
		c.Value = p.Fraction()
	} else {
		var d units.Duration
		if err := d.UnmarshalText([]byte(rest)); err != nil {
			return Condition{}, fmt.Errorf("%s is a latency: %w", c.Metric, err)
		}
		c.Value = d.D().Seconds()
	}
	return c, nil
}
