package verify

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/internal/units"
)

// assertProblem checks what a Validate returned: nothing when want is "",
// else one problem whose "field: message" contains want.
func assertProblem(t *testing.T, ps []units.Problem, want string) {
	t.Helper()
	if want == "" {
		assert.Empty(t, ps)
		return
	}
	if assert.Len(t, ps, 1) {
		assert.Contains(t, ps[0].Field+": "+ps[0].Msg, want)
	}
}

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
