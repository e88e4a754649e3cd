package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVarFlagAndEnvVariables: an experiment written with ${upstream} and
// ${env:NAME} is invalid with the position until --var and the environment
// give them; then it runs, and its requests go where they say.
func TestVarFlagAndEnvVariables(t *testing.T) {
	got := make(chan string, 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Path + " " + r.Header.Get("X-Team"):
		default:
		}
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "vars.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: vars
load: {url: "${upstream}/v1/${env:CHAOS_TEST_PATH}", method: GET, rate: 20/s, headers: {X-Team: "${team}"}}
steady_state: {for: 500ms, slo: {error_rate: 1%, min_requests: 3}}
faults:
  - {name: storm, kind: flood, target: {url: "${upstream}/storm"}, params: {rate: 10/s}, for: 500ms}
`), 0o644))

	code, _, stderr := chaos(t, "validate", file)
	assert.Equal(t, 2, code)
	assert.Regexp(t, `vars.yaml:3:\d+: load.url: no stack variable named "upstream"`, stderr)
	assert.Regexp(t, `vars.yaml:3:\d+: load.headers.X-Team: no stack variable named "team"`, stderr)

	code, _, stderr = chaos(t, "run", file, "--var", "bad name=x")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `--var "bad name=x" is not valid`)

	cmd, out, errb := chaosCmd(t, "run", file, "--var", "upstream="+srv.URL, "--var", "team=sre", "-q")
	cmd.Env = append(cmd.Env, "CHAOS_TEST_PATH=models")
	require.NoError(t, cmd.Run(), out.String()+errb.String())
	assert.Equal(t, "/v1/models sre", <-got)

	require.NoError(t, os.Unsetenv("CHAOS_TEST_PATH"))
	code, _, stderr = chaos(t, "run", file, "--var", "upstream="+srv.URL, "--var", "team=sre", "-q")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "load: ${env:CHAOS_TEST_PATH}: the environment variable CHAOS_TEST_PATH is not set")
}

// TestValidateFolderSkipsOtherYAML: in a folder, only files that declare
// version: chaos/v1 are experiments; the others are counted, not failed.
func TestValidateFolderSkipsOtherYAML(t *testing.T) {
	code, out, stderr := chaos(t, "validate", "../../examples")
	assert.Equal(t, 0, code, stderr)
	assert.Regexp(t, `skipped \d+ YAML file\(s\) that do not declare version: chaos/v1`, out)
	assert.NotContains(t, out, "docker-compose.yml")
	assert.Contains(t, out, "examples/gameday/local.yaml: valid")
}
