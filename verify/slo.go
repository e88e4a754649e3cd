package verify

import (
	"fmt"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/load"
)

// DefaultMinRequests is the fewest completed requests a window needs for a
// verdict; fewer is a failure, never a silent pass.
const DefaultMinRequests = 10

// SLO is a set of upper bounds on a window of load results. Unset bounds are
// not judged.
type SLO struct {
	P50       *units.Duration `yaml:"p50,omitempty" jsonschema:"description=latency p50 at most"`
	P95       *units.Duration `yaml:"p95,omitempty" jsonschema:"description=latency p95 at most"`
	P99       *units.Duration `yaml:"p99,omitempty" jsonschema:"description=latency p99 at most"`
	TTFT      *units.Duration `yaml:"ttft_p99,omitempty" jsonschema:"description=time to first content token p99 at most"`
	ErrorRate *units.Percent  `yaml:"error_rate,omitempty" jsonschema:"description=share of failed requests (transport errors and non-2xx) at most"`
	Degraded  *units.Percent  `yaml:"degraded,omitempty" jsonschema:"description=degraded share at most"`
	// Connect and ConnectErrors judge what a new client sees: the TCP
	// connect time of the requests that opened a connection, and the share
	// of those connections refused, timed out or reset before any byte.
	// Use them with fresh_connections load; a window in which no request
	// opened a connection fails them (nothing was measured).
	Connect       *units.Duration `yaml:"connect_p99,omitempty" jsonschema:"description=TCP connect time p99 at most (of requests that opened a connection: use fresh_connections)"`
	ConnectErrors *units.Percent  `yaml:"connect_error_rate,omitempty" jsonschema:"description=share of opened connections refused or timed out or reset before any byte at most"`
	MinCount      int             `yaml:"min_requests,omitempty" jsonschema:"description=fewest completed requests for a verdict,default=10"`
}

// boundNames lists the SLO's bounds for hints, in Judge's order.
const boundNames = "p50, p95, p99, ttft_p99, error_rate, degraded, connect_p99, connect_error_rate"

// Validate requires at least one bound; field names are relative to the SLO.
func (s SLO) Validate() []units.Problem {
	var ps []units.Problem
	if s.P50 == nil && s.P95 == nil && s.P99 == nil && s.TTFT == nil && s.ErrorRate == nil && s.Degraded == nil &&
		s.Connect == nil && s.ConnectErrors == nil {
		ps = append(ps, units.Problemf("", "has no bound (valid: at least one of %s)", boundNames))
	}
	if s.Connect != nil && s.Connect.D() <= 0 {
		ps = append(ps, units.Problemf("connect_p99", "%s is not a time a connect can take (valid: more than 0, e.g. 200ms)", s.Connect))
	}
	if s.ConnectErrors != nil && (s.ConnectErrors.Fraction() < 0 || s.ConnectErrors.Fraction() > 1) {
		ps = append(ps, units.Problemf("connect_error_rate", "%s is not a share (valid: 0%% to 100%%)", s.ConnectErrors))
	}
	if s.MinCount < 0 {
		ps = append(ps, units.Problemf("min_requests", "%d is negative; want 1 or more (0 = default %d)", s.MinCount, DefaultMinRequests))
	}
	return ps
}

// MinRequests is MinCount with its default applied.
func (s SLO) MinRequests() int64 {
	if s.MinCount > 0 {
		return int64(s.MinCount)
	}
	return DefaultMinRequests
}

// Judge compares a window's summary with the bounds. measured and bound list
// the judged values in the same order ("p99 812ms, error rate 0.4%" against
// "p99 ≤ 500ms, error rate ≤ 1%"); reason, set when !ok, lists every bound
// broken with both numbers ("p99 812ms > 500ms"), or says there were too few
// requests. Callers add the window and the request count to reason. The
// steady state, the slo check and the recover check share it.
func (s SLO) Judge(sum load.Summary) (ok bool, measured, bound, reason string) {
	var m, b, r []string
	lat := func(name string, limit *units.Duration, got time.Duration, n int64) {
		if limit == nil {
			return
		}
		b = append(b, fmt.Sprintf("%s ≤ %s", name, limit))
		if n == 0 {
			m = append(m, name+" n/a")
			r = append(r, fmt.Sprintf("%s: none of %d requests measured it", name, sum.Completed))
			return
		}
		m = append(m, name+" "+fmtDur(got))
		if got > limit.D() {
			r = append(r, fmt.Sprintf("%s %s > %s", name, fmtDur(got), limit))
		}
	}
	share := func(name string, limit *units.Percent, got float64) {
		if limit == nil {
			return
		}
		b = append(b, fmt.Sprintf("%s ≤ %s", name, limit))
		m = append(m, name+" "+fmtPct(got))
		if got > limit.Fraction() {
			r = append(r, fmt.Sprintf("%s %s > %s", name, fmtPct(got), limit))
		}
	}
	lat("p50", s.P50, sum.Latency.P50, sum.Latency.Count)
	lat("p95", s.P95, sum.Latency.P95, sum.Latency.Count)
	lat("p99", s.P99, sum.Latency.P99, sum.Latency.Count)
	lat("ttft p99", s.TTFT, sum.TTFTContent.P99, sum.TTFTContent.Count)
	share("error rate", s.ErrorRate, sum.ErrorRate)
	share("degraded", s.Degraded, sum.DegradedShare)
	lat("connect p99", s.Connect, sum.Connect.P99, sum.Connect.Count)
	if s.ConnectErrors != nil {
		if sum.Connects == 0 {
			b = append(b, fmt.Sprintf("connect error rate ≤ %s", s.ConnectErrors))
			m = append(m, "connect error rate n/a")
			r = append(r, fmt.Sprintf("connect error rate: none of %d requests opened a connection (valid with fresh_connections load)", sum.Completed))
		} else {
			share("connect error rate", s.ConnectErrors, sum.ConnectErrorRate)
			m[len(m)-1] += fmt.Sprintf(" of %d connects", sum.Connects)
		}
	}
	m = append(m, fmt.Sprintf("%d requests", sum.Completed))
	measured, bound = strings.Join(m, ", "), strings.Join(b, ", ")
	if min := s.MinRequests(); sum.Completed < min {
		return false, measured, bound, fmt.Sprintf("fewer requests than min_requests %d", min)
	}
	if len(r) > 0 {
		return false, measured, bound, strings.Join(r, ", ")
	}
	return true, measured, bound, ""
}

// Bound prints the bounds as Judge does ("p99 ≤ 500ms, error rate ≤ 1%").
func (s SLO) Bound() string {
	_, _, bound, _ := s.Judge(load.Summary{})
	return bound
}

// over names the window and request count at the end of a reason.
func over(w Window, n int64) string { return fmt.Sprintf("over %s (%d requests)", w, n) }
