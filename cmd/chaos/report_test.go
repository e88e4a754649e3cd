package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify/report"
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

// What `chaos demo` writes with --report-dir and --junit (the live view,
// the report folder, the HTML page in headless Chromium) is checked on
// TestDemo's own run: demoReports.
