package report

import (
	"bytes"
	"encoding/xml"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run `go test ./verify/report -update` to create it")
	assert.Equal(t, string(want), string(got), "%s differs; run with -update if the change is intended", path)
}

func TestGolden(t *testing.T) {
	second := fixture()
	second.Experiment, second.Verdict, second.ExitCode, second.Reason = "hung-replica-is-ejected", "held", 0, ""
	second.Checks = second.Checks[:2]
	tests := []struct {
		name   string
		reps   []*Report
		render func(w *bytes.Buffer, reps ...*Report) error
	}{
		{"result.json", []*Report{fixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteJSON(w, r...) }},
		{"junit.xml", []*Report{fixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteJUnit(w, r...) }},
		{"summary.md", []*Report{fixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteMarkdown(w, r...) }},
		{"summary.txt", []*Report{fixture()}, func(w *bytes.Buffer, r ...*Report) error { PrintSummary(w, r...); return nil }},
		{"combined-junit.xml", []*Report{fixture(), second}, func(w *bytes.Buffer, r ...*Report) error { return WriteJUnit(w, r...) }},
		{"combined-summary.md", []*Report{fixture(), second}, func(w *bytes.Buffer, r ...*Report) error { return WriteMarkdown(w, r...) }},
		{"inconclusive-result.json", []*Report{starvedFixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteJSON(w, r...) }},
		{"inconclusive-junit.xml", []*Report{starvedFixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteJUnit(w, r...) }},
		{"inconclusive-summary.md", []*Report{second, starvedFixture()}, func(w *bytes.Buffer, r ...*Report) error { return WriteMarkdown(w, r...) }},
		{"inconclusive-summary.txt", []*Report{starvedFixture()}, func(w *bytes.Buffer, r ...*Report) error { PrintSummary(w, r...); return nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			require.NoError(t, tc.render(&b, tc.reps...))
			golden(t, tc.name, b.Bytes())
		})
	}
}

// TestJSONRoundTrip reads back what WriteJSON wrote: `chaos report` re-renders
// from it, so every field must survive.
func TestJSONRoundTrip(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, fixture()))
	reps, err := ReadJSON(&b)
	require.NoError(t, err)
	require.Len(t, reps, 1)
	assert.Equal(t, fixture(), reps[0])
	assert.NotContains(t, b.String(), `"time_to_recover":`, "durations carry their unit")

	b.Reset()
	require.NoError(t, WriteJSON(&b, starvedFixture()))
	assert.Contains(t, b.String(), `"status": "inconclusive"`)
	reps, err = ReadJSON(&b)
	require.NoError(t, err)
	assert.Equal(t, starvedFixture(), reps[0], "status inconclusive, exit 5 and the self block survive")

	_, err = ReadJSON(strings.NewReader(`{"schema":"chaos.report/v0"}`))
	assert.ErrorContains(t, err, "chaos.report/v0")
}

// TestJUnitShape decodes the JUnit file with the element and attribute
// names of the common junit-10.xsd and checks what CI systems read.
func TestJUnitShape(t *testing.T) {
	type failure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure"`
		Error     *failure `xml:"error"`
	}
	type testsuite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Errors   int        `xml:"errors,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	var doc struct {
		XMLName xml.Name    `xml:"testsuites"`
		Tests   int         `xml:"tests,attr"`
		Suites  []testsuite `xml:"testsuite"`
	}
	aborted := fixture()
	aborted.Experiment, aborted.Verdict, aborted.ExitCode, aborted.Reason = "aborted-run", "aborted", 3, "aborted: error_rate > 50% held for 5s"
	var b bytes.Buffer
	require.NoError(t, WriteJUnit(&b, fixture(), aborted))
	require.NoError(t, xml.Unmarshal(b.Bytes(), &doc))
	require.Len(t, doc.Suites, 2)
	s := doc.Suites[0]
	assert.Equal(t, "slow-primary-trips-breaker", s.Name)
	assert.Equal(t, 4, s.Tests, "one testcase per check")
	assert.Equal(t, 1, s.Failures)
	assert.Len(t, s.Cases, 4)
	for _, c := range s.Cases {
		assert.NotEmpty(t, c.Name)
		assert.NotEmpty(t, c.Classname)
		assert.NotEmpty(t, c.Time)
	}
	f := s.Cases[2].Failure
	require.NotNil(t, f, "the failed check has a <failure>")
	assert.Contains(t, f.Message, "812ms")
	assert.Contains(t, f.Message, "≤ 500ms")
	assert.Equal(t, "slo", f.Type)
	assert.Equal(t, 1, doc.Suites[1].Errors, "an aborted run adds an errored testcase")
	assert.Equal(t, "run", doc.Suites[1].Cases[4].Name)
	assert.Equal(t, 9, doc.Tests)
}

// TestSchema checks the published JSON Schema describes the wire form.
func TestSchema(t *testing.T) {
	b, err := JSONSchema()
	require.NoError(t, err)
	s := string(b)
	for _, want := range []string{`"chaos.report/v2"`, `"time_to_recover_s"`, `"connect_error_rate"`, `"rollback_done_s"`, `"p99_ms"`, `"rate_per_s"`, `"CheckReport"`, `"series"`, `"t_s"`} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "checkJSON")
	golden(t, "schema.json", append(b, '\n'))
}

// TestWriteDir writes one set for one run; for several, a combined set on
// top and one set per experiment below.
func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	_, err := WriteDir(dir, fixture())
	require.NoError(t, err)
	for _, f := range []string{"result.json", "junit.xml", "summary.md", "report.html"} {
		assert.FileExists(t, filepath.Join(dir, f))
	}

	dir = t.TempDir()
	a, b := fixture(), fixture()
	b.Experiment = "a/b c"
	written, err := WriteDir(dir, a, b, fixture())
	require.NoError(t, err)
	assert.Len(t, written, 16)
	for _, sub := range []string{"", "slow-primary-trips-breaker", "a-b-c", "slow-primary-trips-breaker-2"} {
		for _, f := range []string{"result.json", "junit.xml", "summary.md", "report.html"} {
			assert.FileExists(t, filepath.Join(dir, sub, f))
		}
	}
	reps, err := ReadFile(filepath.Join(dir, "result.json"))
	require.NoError(t, err)
	assert.Len(t, reps, 3)
}
