package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProxyExperiments runs the bundled stream and connection experiments
// against the local stack: each holds on the full gateway and fails, naming
// the check, without a fallback.
func TestProxyExperiments(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s a run")
	}
	for _, tc := range []struct{ file, caught string }{
		{"../../examples/experiments/proxy/exhausted-primary.yaml", "fallback answers"},
		{"../../examples/experiments/proxy/stalled-stream.yaml", "fallback answers"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, out, stderr := chaos(t, "run", tc.file, "-q", "--seed", "5")
			assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			code, out, stderr = chaos(t, "run", tc.file, "-q", "--seed", "5", "--variant", "no-fallback")
			assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			if tc.caught != "" {
				assert.Contains(t, out, "✗ "+tc.caught+":")
			}
		})
	}
}
