package run

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/proxy"
)

// TestDryRunShowsSelectorsResolvedTargetsAndPrograms: every fault line names
// its selector (container, labels, proxy — once printed empty), the targets
// it resolves to now or why not, and a command check shows its argv with
// the variables expanded; nothing is injected and the run holds.
func TestDryRunShowsSelectorsResolvedTargetsAndPrograms(t *testing.T) {
	pid, state := sleeper(t)
	rt, err := proxy.Start(proxy.Options{Name: "dry-m", Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1", Mode: proxy.ModeHTTP})
	require.NoError(t, err)
	defer rt.Close()
	api := httptest.NewServer(proxy.NewAPI("dry-tok"))
	defer api.Close()
	t.Setenv("CHAOS_TEST_DRY_TOKEN", "dry-tok")
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: dry
stack: {vars: {svc: "http://127.0.0.1:1", api: "%s", who: "it's me"}}
load: {url: "${svc}/", method: GET, rate: 5/s}
faults:
  - {name: pause, kind: process, target: {pid: %d}, params: {signal: STOP}, for: 2s}
  - {name: remote, kind: http-error, target: {proxy: dry-m, api: "${api}", token: "${CHAOS_TEST_DRY_TOKEN}"}, params: {status: 503}, for: 2s}
  - {name: gone-route, kind: http-error, target: {proxy: no-such-route, api: "${api}", token: "${CHAOS_TEST_DRY_TOKEN}"}, params: {status: 503}, for: 2s}
  - {name: box, kind: pause, target: {container: chaos-dry-run-no-such-container}, for: 2s}
  - {name: labelled, kind: pause, target: {labels: {chaos.test: dry-run, app: none}, pick: one}, for: 2s}
checks:
  - {name: health, kind: command, run: [curl, -fsS, "${svc}/healthz", -H, "X-Who: ${who}"]}
  - {name: no-errors, kind: slo, during: pause, error_rate: 1%%}
`, api.URL, pid))
	var out bytes.Buffer
	dir := t.TempDir()
	rep, err := Run(context.Background(), exp, Options{Seed: 1, DryRun: true, StateDir: dir, Stdout: &out})
	require.NoError(t, err, out.String())
	assert.Equal(t, ExitHeld, rep.ExitCode, "an unresolved target does not fail a dry run")
	got := out.String()
	t.Log(got)

	lines := strings.Split(got, "\n")
	after := func(marker string) string { // the line below the one holding marker
		for i, l := range lines {
			if strings.Contains(l, marker) && i+1 < len(lines) {
				return lines[i+1]
			}
		}
		t.Fatalf("no line with %q in\n%s", marker, got)
		return ""
	}
	assert.Contains(t, got, fmt.Sprintf("pause: process on pid %d", pid))
	assert.Equal(t, fmt.Sprintf(`      → pid %d`, pid), after("pause: process on"))

	assert.Contains(t, got, "remote: http-error on proxy dry-m at ${api}")
	assert.Equal(t, "      → proxy dry-m at "+api.URL, after("remote: http-error on"), "resolved, and the route exists")
	assert.Contains(t, got, "gone-route: http-error on proxy no-such-route at ${api}")
	assert.Regexp(t, `not usable now: .*404.*no route "no-such-route"`, got)
	assert.Contains(t, got, "load: GET http://127.0.0.1:1/ at 5/s", "variables expanded")

	assert.Contains(t, got, "box: pause on container chaos-dry-run-no-such-container")
	assert.Contains(t, after("box: pause on"), "not resolved: ", "the reason is on the line")
	assert.Contains(t, got, "labelled: pause on labels app=none,chaos.test=dry-run (pick one)")
	assert.Contains(t, after("labelled: pause on"), "not resolved: ")

	assert.Contains(t, got, "check health (command) during")
	assert.Contains(t, got, `      runs: curl -fsS http://127.0.0.1:1/healthz -H 'X-Who: it'\''s me'`, "argv as executed, shell-quoted")
	assert.NotContains(t, got, "dry-tok", "no token in the plan")

	assert.NotEqual(t, "T", state(), "nothing injected")
	assert.Empty(t, rt.Faults(), "nothing injected")
	_, statErr := os.Stat(filepath.Join(dir, "journal"))
	assert.True(t, os.IsNotExist(statErr), "dry run writes no journal")
}

// TestDryRunDoesNotStartTheLocalStack: the local demo stack is not started
// to resolve targets; the plan says they resolve at run time.
func TestDryRunDoesNotStartTheLocalStack(t *testing.T) {
	exp := parse(t, `version: chaos/v1
name: dry-local
stack: {local: {primaries: 2}}
load: {url: "${gateway}/v1/chat/completions", rate: 5/s}
faults:
  - {name: slow, kind: latency, target: {service: model-primary}, params: {delay: 100ms}, for: 2s}
checks:
  - {name: up, kind: command, run: [sh, -c, "curl -fsS ${gateway}/healthz"]}
`)
	var out bytes.Buffer
	rep, err := Run(context.Background(), exp, Options{Seed: 1, DryRun: true, StateDir: t.TempDir(), Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, ExitHeld, rep.ExitCode)
	got := out.String()
	assert.Contains(t, got, "slow: latency on service model-primary (pick all)")
	assert.Contains(t, got, "      resolved at run time (local stack)")
	assert.Contains(t, got, `      runs: sh -c 'curl -fsS ${gateway}/healthz'  (${gateway} set at run time)`)
	assert.False(t, regexp.MustCompile(`pid \d`).MatchString(got), "no process was started: %s", got)
}
