package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcomeRun is a report named name with exit code code and its verdict.
func outcomeRun(name string, code int) *Report {
	r := fixture()
	r.Experiment, r.ExitCode = name, code
	r.Verdict = map[int]string{0: "held", 1: "failed", 2: "error", 3: "aborted", 4: "error", 5: "inconclusive"}[code]
	if code != 1 {
		r.Checks = r.Checks[:2] // the ones that held
	}
	return r
}

func experimentNames(reps []*Report) []string {
	out := make([]string, len(reps))
	for i, r := range reps {
		out[i] = r.Experiment
	}
	return out
}

func TestByOutcome(t *testing.T) {
	tests := []struct {
		name string
		in   []*Report
		want []string
	}{
		{"one", []*Report{outcomeRun("a", 0)}, []string{"a"}},
		{"failed before held", []*Report{outcomeRun("held", 0), outcomeRun("failed", 1)}, []string{"failed", "held"}},
		{"stable within a group", []*Report{outcomeRun("h1", 0), outcomeRun("f1", 1), outcomeRun("h2", 0), outcomeRun("f2", 1)}, []string{"f1", "f2", "h1", "h2"}},
		{"every outcome", []*Report{outcomeRun("held", 0), outcomeRun("inconclusive", 5), outcomeRun("tool", 4), outcomeRun("aborted", 3), outcomeRun("failed", 1)},
			[]string{"failed", "aborted", "tool", "inconclusive", "held"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := experimentNames(tc.in)
			assert.Equal(t, tc.want, experimentNames(ByOutcome(tc.in)))
			assert.Equal(t, before, experimentNames(tc.in), "the run order is left as it was")
		})
	}
}

// TestCombinedFailedFirst: the combined text, Markdown and HTML list the
// failed run before the held one that ran first; the JSON keeps run order.
func TestCombinedFailedFirst(t *testing.T) {
	reps := []*Report{outcomeRun("first-held", 0), outcomeRun("second-aborted", 3), outcomeRun("third-failed", 1)}
	for _, format := range []string{"text", "markdown", "html"} {
		var b bytes.Buffer
		require.NoError(t, Formats[format](&b, reps...))
		out := b.String()
		f, a, h := strings.Index(out, "third-failed"), strings.Index(out, "second-aborted"), strings.Index(out, "first-held")
		require.True(t, f >= 0 && a >= 0 && h >= 0, format)
		assert.True(t, f < a && a < h, "%s: failed %d, aborted %d, held %d", format, f, a, h)
	}
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, reps...))
	got, err := ReadJSON(&b)
	require.NoError(t, err)
	assert.Equal(t, []string{"first-held", "second-aborted", "third-failed"}, experimentNames(got), "result.json keeps the order the runs ran in")
}
