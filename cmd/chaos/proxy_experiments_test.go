package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestProxyExperiments runs the bundled stream and connection experiments
// against the local stack: each holds on the full gateway and fails, naming
// the check, without a fallback. The runs that must hold go one at a time;
// the no-fallback runs go side by side (a fallback that is not there
// cannot answer on a quiet machine either, and a starved run, exit 5, is
// run again).
func TestProxyExperiments(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s a run")
	}
	cases := []struct{ file, caught string }{
		{"../../examples/experiments/proxy/exhausted-primary.yaml", "fallback answers"},
		{"../../examples/experiments/proxy/stalled-stream.yaml", "fallback answers"},
	}
	t.Run("full gateway", func(t *testing.T) {
		for _, tc := range cases {
			code, out, stderr := chaos(t, "run", tc.file, "-q", "--seed", "5")
			assert.Equal(t, 0, code, "%s\nstdout:\n%s\nstderr:\n%s", tc.file, out, stderr)
		}
	})
	t.Run("no-fallback", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(filepath.Base(tc.file), func(t *testing.T) {
				t.Parallel()
				code, out, stderr := untilJudged(t, "run", tc.file, "-q", "--seed", "5", "--variant", "no-fallback")
				assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
				assert.Contains(t, out, "✗ "+tc.caught+":")
			})
		}
	})
}

// TestCutStreamIsAnError: half the primary's streams are cut mid-answer.
// The bundled experiment's checks hold (the gateway counts them as errors),
// and a check added to it, that the client saw no errors during the cut,
// fails in the same run: the load generator counts a truncated stream as
// an error, not a success.
func TestCutStreamIsAnError(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s a run")
	}
	b, err := os.ReadFile("../../examples/experiments/proxy/cut-stream.yaml")
	require.NoError(t, err)
	strict := filepath.Join(t.TempDir(), "cut-stream-strict.yaml")
	require.NoError(t, os.WriteFile(strict, append(b, "  - {name: client sees no errors, kind: slo, during: cut, error_rate: 1%}\n"...), 0o644))
	code, out, stderr := chaos(t, "run", strict, "-q", "--seed", "5")
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	for _, held := range []string{"gateway counts cut streams as errors", "recovers"} {
		assert.Regexp(t, `(?m)^cut-stream-is-an-error\s+`+held+`\s+\S+\s+held\s`, out, "the bundled experiment's checks hold")
	}
	assert.Contains(t, out, "✗ client sees no errors:")
	assert.NotRegexp(t, `(?m)^  \? `, out, "nothing inconclusive")
}
