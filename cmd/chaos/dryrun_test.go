package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeExperiment(t *testing.T, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "exp.yaml")
	require.NoError(t, os.WriteFile(file, []byte(body), 0o644))
	return file
}

// TestValidateShowsCommandPrograms: validate prints the argv a command
// check will run, with stack.vars expanded.
func TestValidateShowsCommandPrograms(t *testing.T) {
	file := writeExperiment(t, `version: chaos/v1
name: programs
stack: {vars: {gw: "http://127.0.0.1:8080"}}
load: {url: "${gw}/", rate: 5/s}
faults:
  - {name: slow, kind: latency, target: {proxy: m, api: "http://127.0.0.1:8474"}, for: 2s}
checks:
  - {name: healthy, kind: command, run: [curl, -fsS, "${gw}/healthz"]}
  - {name: script, kind: command, run: [sh, -c, "test -f /tmp/x && echo ok"], contains: ok}
  - {name: no-errors, kind: slo, during: slow, error_rate: 1%}
`)
	code, out, stderr := chaos(t, "validate", file)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, file+": valid\n")
	assert.Contains(t, out, "  check healthy runs: curl -fsS http://127.0.0.1:8080/healthz\n")
	assert.Contains(t, out, "  check script runs: sh -c 'test -f /tmp/x && echo ok'\n")
	assert.NotContains(t, out, "no-errors runs", "only command checks run a program")
}

// TestValidateRefusesALiteralToken: a token written in the file is an
// invalid experiment at file:line:col, with the ${NAME} hint.
func TestValidateRefusesALiteralToken(t *testing.T) {
	file := writeExperiment(t, `version: chaos/v1
name: literal-token
load: {url: "http://127.0.0.1:1/", rate: 5/s}
faults:
  - name: slow
    kind: latency
    target: {proxy: m, api: "http://127.0.0.1:8474", token: hunter2}
    for: 2s
`)
	code, _, stderr := chaos(t, "validate", file)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, file+":7:61: faults[0].target.token: is written in the file: write ${NAME} and export NAME=…, so the token stays out of files and journals")
	assert.NotContains(t, stderr, "hunter2")
}

// TestDryRunPrintsTargetsAndPrograms: --dry-run names container, labels
// and proxy selectors (once printed empty), what they resolve to now or
// why not, and a command check's argv.
func TestDryRunPrintsTargetsAndPrograms(t *testing.T) {
	_, api, stop := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0")
	defer stop()
	file := writeExperiment(t, fmt.Sprintf(`version: chaos/v1
name: dry-targets
stack: {vars: {api: "%s"}}
load: {url: "http://127.0.0.1:1/", rate: 5/s}
faults:
  - {name: box, kind: pause, target: {container: chaos-dry-run-none}, for: 2s}
  - {name: herd, kind: pause, target: {labels: {chaos.dry: "yes"}, pick: one}, for: 2s}
  - {name: slow, kind: latency, target: {proxy: m, api: "${api}"}, params: {delay: 10ms}, for: 2s}
checks:
  - {name: probe, kind: command, run: [curl, -fsS, "${api}/healthz"]}
`, api))
	code, out, stderr := chaos(t, "run", file, "--dry-run", "--state-dir", t.TempDir())
	require.Equal(t, 0, code, "an unresolved target does not fail a dry run\n%s\n%s", out, stderr)
	assert.Contains(t, out, "box: pause on container chaos-dry-run-none")
	assert.Regexp(t, `box: pause on container chaos-dry-run-none .*\n +not resolved: \S`, out)
	assert.Regexp(t, `herd: pause on labels chaos.dry=yes \(pick one\).*\n +not resolved: \S`, out)
	assert.Regexp(t, `slow: latency on proxy m at \$\{api\} .*\n +→ proxy m at `+regexpQuote(api)+`\n`, out)
	assert.Contains(t, out, "      runs: curl -fsS "+api+"/healthz\n")
	_, body := apiCall(t, "GET", api+"/routes/m/faults", "", "")
	assert.JSONEq(t, `[]`, body, "nothing injected")
}
