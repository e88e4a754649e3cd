package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestDemo runs the bundled experiments against the local stack as a user
// would: every check holds on the full gateway, and each crippled variant
// fails, naming the check that caught it.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 20 s a run")
	}
	code, out, stderr := demo(t, "demo", "-q", "--seed", "11")
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	for _, kind := range []string{"breaker", "degraded", "slo", "recover", "prometheus"} {
		assert.Regexp(t, `(?m)^\S+\s+.+\s+`+kind+`\s+held\s`, out)
	}
	assert.Regexp(t, `(?m)^brownout-no-retry-storm\s+no retry storm\s+prometheus\s+held\s`, out, "the budget bounds retry amplification")

	caught := map[string]string{
		"no-breaker":      "breaker opens",
		"no-fallback":     "fallback answers",
		"no-shedding":     "high priority served",
		"no-ejection":     "replica ejected",
		"no-retry-budget": "no retry storm",
		"no-conn-timeout": "new clients served",
	}
	for variant, check := range caught {
		t.Run(variant, func(t *testing.T) {
			code, out, stderr := demo(t, "demo", "-q", "--seed", "11", "--variant", variant)
			assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
			assert.Contains(t, out, "✗ "+check+":")
		})
	}
}

// demo runs `chaos demo` and runs it again, up to three times, while it
// exits 5: chaos itself was starved (on this 2-core machine the demo runs
// every bundled experiment side by side), so nothing was judged; that is
// the retry exit 5 asks CI for, not a verdict to assert on.
func demo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var code int
	var out, stderr string
	for try := range 3 {
		code, out, stderr = chaos(t, args...)
		if code != 5 {
			break
		}
		t.Logf("try %d: inconclusive (chaos starved), running again", try+1)
	}
	return code, out, stderr
}
