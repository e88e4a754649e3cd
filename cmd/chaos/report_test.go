package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/report"
	"github.com/chaos-sre/chaos/verify/report/reporttest"
)

// fixtureResult is the golden result.json of verify/report's fixed report.
const fixtureResult = "../../verify/report/testdata/result.json"

// TestReportRerenders reads a saved result.json and writes every format
// again, byte for byte what the golden files of verify/report hold.
func TestReportRerenders(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := chaos(t, "report", fixtureResult,
		"--junit", filepath.Join(dir, "j.xml"), "--markdown", filepath.Join(dir, "s.md"), "--html", filepath.Join(dir, "r.html"))
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "slow-primary-trips-breaker: FAILED (exit 1: a check failed")
	for got, golden := range map[string]string{"j.xml": "junit.xml", "s.md": "summary.md"} {
		want, err := os.ReadFile(filepath.Join("../../verify/report/testdata", golden))
		require.NoError(t, err)
		have, err := os.ReadFile(filepath.Join(dir, got))
		require.NoError(t, err)
		assert.Equal(t, string(want), string(have), got)
	}
	assert.FileExists(t, filepath.Join(dir, "r.html"))

	code, _, _ = chaos(t, "report", fixtureResult, "--exit-code", "-o", "json")
	assert.Equal(t, 1, code, "--exit-code gives the run's own exit code")
	code, _, stderr = chaos(t, "report", "no-such.json")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "no-such.json")
}

func TestSchemaReport(t *testing.T) {
	code, out, _ := chaos(t, "schema", "--report")
	require.Equal(t, 0, code)
	want, err := report.JSONSchema()
	require.NoError(t, err)
	assert.Equal(t, string(want)+"\n", out)
}

// TestDemoReports runs two bundled experiments side by side with every
// report output: the plain live view on stderr (not a terminal), a combined
// set and one set per experiment in --report-dir, the JSON on stdout; then
// opens the combined HTML page in headless Chromium with no network and
// checks the screenshot is not blank.
func TestDemoReports(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two experiments (about 25 s)")
	}
	dir := t.TempDir()
	code, out, stderr := chaos(t, "demo", "--seed", "11", "--only", "slow-primary-trips-breaker,overload-storm-sheds-low-priority",
		"--report-dir", dir, "-o", "json", "--junit", filepath.Join(dir, "extra", "junit.xml"))
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Regexp(t, `chaos: slow-primary-trips-breaker \[0:\d\d\] faults \(slow-primary on\) · \d+ req/s · p99 `, stderr, "plain live lines")
	assert.Regexp(t, `chaos: overload-storm-sheds-low-priority \[0:\d\d\] recovery .*recovers: watching`, stderr)

	var fromStdout []report.Report
	require.NoError(t, jsonUnmarshal(out, &fromStdout))
	require.Len(t, fromStdout, 2)
	for _, sub := range []string{"", "slow-primary-trips-breaker", "overload-storm-sheds-low-priority"} {
		for _, f := range []string{"result.json", "junit.xml", "summary.md", "report.html"} {
			assert.FileExists(t, filepath.Join(dir, sub, f))
		}
	}
	reps, err := report.ReadFile(filepath.Join(dir, "slow-primary-trips-breaker", "result.json"))
	require.NoError(t, err)
	r := reps[0]
	assert.NotEmpty(t, r.Load.Seconds, "per-second timeline")
	assert.NotEmpty(t, r.Load.Seconds[5].Classes, "per class")
	require.Len(t, r.Series, 1, "the breaker check's state over time")
	var opened bool
	for _, p := range r.Series[0].Points {
		opened = opened || p.Value == 1
	}
	assert.True(t, opened, "the breaker series shows it open")
	assert.NotEmpty(t, r.Faults[0].Targets)

	var junit struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name string `xml:"name,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "extra", "junit.xml"))
	require.NoError(t, err)
	require.NoError(t, xml.Unmarshal(b, &junit))
	assert.Len(t, junit.Suites, 2)

	shot := reporttest.Screenshot(t, filepath.Join(dir, "report.html"), 1200, 1600)
	colours, inked := reporttest.Ink(t, shot)
	t.Logf("screenshot: %d colours, %.1f%% inked", colours, 100*inked)
	assert.Greater(t, colours, 50)
	assert.Greater(t, inked, 0.05)
	if d := os.Getenv("CHAOS_SCREENSHOT_DIR"); d != "" {
		require.NoError(t, os.WriteFile(filepath.Join(d, "demo-report.png"), shot, 0o644))
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
