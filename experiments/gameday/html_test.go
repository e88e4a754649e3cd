package gameday

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ttrs(verdicts string, vs ...float64) []ExpEntry {
	out := make([]ExpEntry, len(vs))
	for i, v := range vs {
		out[i] = ExpEntry{Name: "x", Verdict: strings.Split(verdicts, ",")[i]}
		if v >= 0 {
			out[i].TimeToRecover = &v
		}
	}
	return out
}

var scaleText = regexp.MustCompile(`<text class="scale"[^>]*>([^<]*)</text>`)

// labels are the scale texts of a sparkline, top to bottom as written.
func labels(svg string) []string {
	var out []string
	for _, m := range scaleText.FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestSparklineScale: a reader can tell 0.3 s from 30 s — the sparkline is
// labelled with its max and min in seconds and the last value.
func TestSparklineScale(t *testing.T) {
	tests := []struct {
		name string
		ps   []ExpEntry
		want []string
	}{
		{"last in between", ttrs("held,held,held", 30, 0.3, 12.1), []string{"max 30.0 s", "min 0.3 s", "last 12.1 s"}},
		{"last is the max", ttrs("held,held", 0.3, 0.5), []string{"max 0.5 s (last)", "min 0.3 s"}},
		{"last is the min", ttrs("held,failed,held", 2, 9.5, 1), []string{"max 9.5 s", "min 1.0 s (last)"}},
		{"one time", ttrs("held", 4), []string{"4.0 s (last)"}},
		{"a run without a time", ttrs("held,failed,held", 3, -1, 3), []string{"3.0 s (last)"}},
		{"none measured", ttrs("failed,aborted", -1, -1), []string{"no time measured"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(sparkline(tc.ps))
			assert.Equal(t, tc.want, labels(svg))
			assert.Equal(t, len(tc.ps), strings.Count(svg, "<circle"), "a dot per run")
		})
	}

	// The same shape at two scales differs in its labels, not only its titles.
	small, large := string(sparkline(ttrs("held,held", 0.3, 0.6))), string(sparkline(ttrs("held,held", 30, 60)))
	assert.NotEqual(t, labels(small), labels(large))
	assert.Contains(t, small, `aria-label="time to recover over runs: from 0.3 s to 0.6 s, last 0.6 s"`)
}

// TestSparklineGeometry: the max sits on the top edge, the min on the
// bottom edge, and a run without a time is a hollow dot on the bottom edge.
func TestSparklineGeometry(t *testing.T) {
	svg := string(sparkline(ttrs("held,failed,held", 30, -1, 0.3)))
	dots := regexp.MustCompile(`<circle cx="[0-9.]+" cy="([0-9.]+)" r="3" fill="([^"]+)"`).FindAllStringSubmatch(svg, -1)
	require.Len(t, dots, 3)
	assert.Equal(t, "5.0", dots[0][1], "max on the top edge")
	assert.Equal(t, "39.0", dots[2][1], "min on the bottom edge")
	assert.Equal(t, "39.0", dots[1][1])
	assert.Equal(t, "#fff", dots[1][2], "no time: hollow")
	assert.Contains(t, svg, "failed, no time to recover")
}

// TestHistoryListsFailedFirst: within a run of the history page the
// experiments that failed come first, as in the run's combined report;
// the trend table keeps the suite's order.
func TestHistoryListsFailedFirst(t *testing.T) {
	v := 1.0
	entries := []Entry{{Suite: "s", Started: time.Now(), Verdict: "failed", ExitCode: 1, Experiments: []ExpEntry{
		{Name: "a", Verdict: "held", TimeToRecover: &v},
		{Name: "b", Verdict: "aborted", ExitCode: 3},
		{Name: "c", Verdict: "held"},
		{Name: "d", Verdict: "failed", ExitCode: 1},
		{Name: "e", Verdict: "not run", ExitCode: 1},
	}}}
	p := pageOf(entries)
	var got []string
	for _, x := range p.Runs[0].Experiments {
		got = append(got, x.Name)
	}
	assert.Equal(t, []string{"d", "e", "b", "a", "c"}, got)
	var trends []string
	for _, tr := range p.Trends {
		trends = append(trends, tr.Name)
	}
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, trends)
	assert.Equal(t, "a", entries[0].Experiments[0].Name, "the index entries are left as they are")
}
