package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestExhaustedGateway runs the bundled exhausted-gateway experiment (idle
// connections past the gateway's --max-conns) against the gateway without
// its head timeout (no-conn-timeout): the check of what new clients see
// fails (exit 1) while their TCP connects stay fast. (That it holds on the
// full gateway, and what the exhaust fault held, TestDemo's run shows.) A
// run chaos itself was starved in (exit 5) is retried.
func TestExhaustedGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("a run of about 18 s")
	}
	const exp = "../../examples/experiments/local/exhausted-gateway.yaml"
	code, out, stderr := untilJudged(t, "run", exp, "-q", "--seed", "7", "--variant", "no-conn-timeout")
	assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "✗ new clients served: p99 ")
	assert.Contains(t, out, "for class new-clients over idle-connections")
	assert.Regexp(t, `(?m)^exhausted-gateway-serves-new-clients\s+new clients connect\s+slo\s+held\s`, out,
		"the kernel completes the handshake: only the answer waits")
}
