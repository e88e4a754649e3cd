package report

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/report/reporttest"
)

// TestHTMLSelfContained renders the fixture: the verdict comes first, every
// chart is inline SVG, and nothing points outside the file.
func TestHTMLSelfContained(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, fixture()))
	page := b.String()
	assert.Less(t, strings.Index(page, "FAILED"), strings.Index(page, "<h3>Checks"), "verdict on top")
	assert.Equal(t, 8, strings.Count(page, `<svg class="chart"`), "latency, errors, degraded, new connections, class p99, rate, breaker, shed")
	for _, want := range []string{"Latency percentiles", "Error rate", "Degraded share", "New connections", "connect p99", "connect errors", "Breaker state", "closed", "open", "slow-primary", "rollback", "(done 16.3s)", "p95 812ms &gt; 500ms"} {
		assert.Contains(t, page, want)
	}
	external := regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:)?//|@import|url\(|<script|<link`)
	assert.Empty(t, external.FindAllString(page, -1), "no fetch of any kind")
	assert.NotContains(t, page, "NaN")
	assert.NotContains(t, page, "<b>", "text is escaped")

	b.Reset()
	second := fixture()
	second.Experiment, second.ExitCode, second.Verdict = "other", 0, "held"
	require.NoError(t, WriteHTML(&b, fixture(), second))
	assert.Contains(t, b.String(), `href="#run-2"`)
	assert.Equal(t, 16, strings.Count(b.String(), `<svg class="chart"`))
}

// TestHTMLInconclusive: an inconclusive check is marked as such with its
// reason, and chaos's own health gets a chart with the stall shaded.
func TestHTMLInconclusive(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, starvedFixture()))
	page := b.String()
	for _, want := range []string{`<tr class="inconclusive">`, "INCONCLUSIVE — inconclusive: chaos was starved: own send lag p99 3.02s",
		"chaos&#39;s own health", "send lag p99 (own)", "run-queue wait (ms per s)", "chaos stalled", "exit 5: no check failed"} {
		assert.Contains(t, page, want)
	}
	assert.Equal(t, 9, strings.Count(page, `<svg class="chart"`), "fixture's eight and chaos's own health")
	assert.NotContains(t, page, "NaN")
}

// TestHTMLInChromium opens the fixture's page in headless Chromium with no
// network and checks the screenshot is not blank.
func TestHTMLInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path := filepath.Join(t.TempDir(), "report.html")
	var b bytes.Buffer
	require.NoError(t, WriteHTML(&b, fixture()))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
	shot := reporttest.Screenshot(t, path, 1200, 1600)
	colours, inked := reporttest.Ink(t, shot)
	t.Logf("%d colours, %.1f%% inked", colours, 100*inked)
	assert.Greater(t, colours, 50, "charts and text in several colours")
	assert.Greater(t, inked, 0.05, "more than a blank page")
	if dir := os.Getenv("CHAOS_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "fixture.png"), shot, 0o644))
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		max, top float64
		n        int
	}{{2010, 2500, 6}, {97, 100, 6}, {1, 1, 6}, {0, 1, 6}, {23.5, 25, 6}} {
		top, ticks := niceTicks(tc.max, 5)
		assert.Equal(t, tc.top, top, "max %v", tc.max)
		assert.Len(t, ticks, tc.n, "max %v: %v", tc.max, ticks)
	}
}

// TestRenderEmpty renders a run that ended in preflight — no load, no
// checks, no faults — in every format without a panic or a NaN.
func TestRenderEmpty(t *testing.T) {
	r := &Report{Schema: Schema, Experiment: "x", Verdict: "error", ExitCode: 4, Reason: "docker is not reachable"}
	for name, render := range Formats {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, render(&b, r))
			assert.NotContains(t, b.String(), "NaN")
			assert.Contains(t, b.String(), "docker is not reachable")
		})
	}
}
