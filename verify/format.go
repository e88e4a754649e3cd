package verify

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// fmtDur prints a measured duration with the precision a reader needs:
// 850µs, 812.3ms, 2.13s.
func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	default:
		return d.Round(10 * time.Millisecond).String()
	}
}

// fmtPct prints a fraction as a percentage with at most two decimals.
func fmtPct(f float64) string {
	return strconv.FormatFloat(float64(int64(f*10000+0.5))/100, 'f', -1, 64) + "%"
}

// fmtNum prints a sample value without trailing zeros.
func fmtNum(f float64) string { return strconv.FormatFloat(f, 'g', 6, 64) }

// windowProblem returns a failed Result when w cannot be judged.
func windowProblem(w Window, measured, bound string) (Result, bool) {
	if w.From.IsZero() || w.To.IsZero() || !w.To.After(w.From) {
		return failed(measured, bound, "window %s is not known or empty (from %s to %s)",
			w, w.From.Format(time.RFC3339), w.To.Format(time.RFC3339)), true
	}
	return Result{}, false
}

// checkURL validates a URL field; URLs with ${variables} are checked after
// the engine expands them.
func checkURL(field, s string) []units.Problem {
	if s == "" {
		return []units.Problem{units.Problemf(field, "is empty; want an http:// or https:// URL, e.g. ${gateway}/metrics")}
	}
	if strings.Contains(s, "${") {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return []units.Problem{units.Problemf(field, "%q is not an http:// or https:// URL with a host", s)}
	}
	return nil
}

// quote shortens and quotes program output for a reason.
func quote(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// classSuffix names a traffic class in a reason.
func classSuffix(class string) string {
	if class == "" {
		return ""
	}
	return " for class " + class
}
