package verify

import (
	"strings"
	"testing"
)

func TestResultStatus(t *testing.T) {
	why := "chaos was starved: own send lag p99 3.1s"
	for _, tc := range []struct {
		name   string
		r      Result
		status string
		reason string
	}{
		{"held", held("p99 12ms", "p99 ≤ 500ms"), StatusHeld, ""},
		{"failed", failed("p99 3s", "p99 ≤ 500ms", "p99 3s > 500ms"), StatusFailed, "p99 3s > 500ms"},
		{"inconclusive after a failure", Inconclusive(failed("p99 3s", "p99 ≤ 500ms", "p99 3s > 500ms"), why), StatusInconclusive,
			"inconclusive: " + why + " (as measured it would have failed: p99 3s > 500ms)"},
		{"inconclusive after a hold", Inconclusive(held("p99 12ms", "p99 ≤ 500ms"), why), StatusInconclusive,
			"inconclusive: " + why + " (as measured it would have held)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Status(); got != tc.status {
				t.Errorf("Status() = %q, want %q", got, tc.status)
			}
			if tc.r.Reason != tc.reason {
				t.Errorf("reason %q, want %q", tc.r.Reason, tc.reason)
			}
			if tc.status == StatusInconclusive && (tc.r.Held || tc.r.Measured == "" || !strings.Contains(tc.r.Bound, "500ms")) {
				t.Errorf("%+v: want held false with the measured value and bound kept", tc.r)
			}
		})
	}
}
