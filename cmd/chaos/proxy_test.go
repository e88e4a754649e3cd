package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startProxy runs `chaos proxy` as a child process and returns the first
// route's address and the control API's URL.
func startProxy(t *testing.T, args ...string) (route, api string, stop func() (int, string)) {
	t.Helper()
	cmd, out, errb := chaosCmd(t, append([]string{"proxy"}, args...)...)
	require.NoError(t, cmd.Start())
	routeRE := regexp.MustCompile(`listening on (\S+)`)
	apiRE := regexp.MustCompile(`control API on (\S+)`)
	waitFor(t, "proxy ready", func() bool { return apiRE.MatchString(out.String()) })
	route = routeRE.FindStringSubmatch(out.String())[1]
	api = apiRE.FindStringSubmatch(out.String())[1]
	stopped := false
	stop = func() (int, string) {
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if err != nil {
			return cmd.ProcessState.ExitCode(), errb.String()
		}
		return 0, errb.String()
	}
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return route, api, stop
}

func okUpstream(t *testing.T) string {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"choices":[{"message":{"content":"hi"}}]}`)
	}))
	t.Cleanup(up.Close)
	return strings.TrimPrefix(up.URL, "http://")
}

func apiCall(t *testing.T, method, u, token, body string) (int, string) {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func status(t *testing.T, u string) int {
	resp, err := http.Get(u)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestProxyCommandAPIAndSIGTERM(t *testing.T) {
	route, api, stop := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0", "--token", "tok")
	assert.Equal(t, 200, status(t, "http://"+route+"/v1/chat/completions"))
	code, body := apiCall(t, "POST", api+"/routes/m/faults", "", `{"kind":"http-error","params":{"status":429}}`)
	assert.Equal(t, 401, code, body)
	code, body = apiCall(t, "POST", api+"/routes/m/faults", "tok", `{"kind":`)
	assert.Equal(t, 400, code)
	assert.True(t, json.Valid([]byte(body)), body)
	code, body = apiCall(t, "POST", api+"/routes/m/faults", "tok", `{"kind":"http-error","params":{"status":429}}`)
	require.Equal(t, 201, code, body)
	assert.Equal(t, 429, status(t, "http://"+route+"/v1/chat/completions"))
	code, body = apiCall(t, "GET", api+"/metrics", "tok", "")
	assert.Equal(t, 200, code)
	assert.Contains(t, body, `chaos_proxy_fault_hits_total{route="m",kind="http-error"`)
	exit, stderr := stop()
	assert.Equal(t, 0, exit, stderr)
	assert.Contains(t, stderr, "closing")
}

func TestProxyCommandBadInput(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unpaired", []string{"--listen", "127.0.0.1:0"}, 2, "--upstream"},
		{"bad mode", []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--mode", "udp"}, 2, "valid: http, tcp"},
		{"API beyond loopback without token", []string{"--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--api", "0.0.0.0:0"}, 2, "token is required"},
		{"listen address in use", []string{"--listen", strings.TrimPrefix(busy.URL, "http://"), "--upstream", "127.0.0.1:1"}, 4, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := chaos(t, append([]string{"proxy"}, tc.args...)...)
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
}

// TestExperimentDrivesARemoteProxy: an experiment injects a fault into a
// `chaos proxy` it did not start, through the API, and rolls it back.
func TestExperimentDrivesARemoteProxy(t *testing.T) {
	route, api, stop := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0", "--token", "tok")
	defer stop()
	dir := t.TempDir()
	file := filepath.Join(dir, "remote.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: remote-proxy
stack:
  vars: {route: "http://%s", api: "%s"}
load:
  url: ${route}/v1/chat/completions
  body: {model: primary, max_tokens: 4, messages: [{role: user, content: hi}]}
  rate: 20/s
  timeout: 2s
steady_state:
  for: 1s
  slo: {error_rate: 1%%}
faults:
  - name: busy
    kind: http-error
    target: {proxy: m, api: "${api}", token: "${CHAOS_TEST_PROXY_TOKEN}"}
    params: {status: 503}
    for: 2s
checks:
  - {name: errors seen, kind: slo, during: busy, after: 500ms, error_rate: 1%%}
  - {name: recovers, kind: recover, within: 5s, slo: {error_rate: 1%%}}
`, route, api)), 0o644))
	cmd, out, errb := chaosCmd(t, "run", file, "--state-dir", dir)
	cmd.Env = append(cmd.Env, "CHAOS_TEST_PROXY_TOKEN=tok")
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	_ = err
	assert.Equal(t, 1, code, "the slo check during the fault fails: the fault was on\n%s\n%s", out.String(), errb.String())
	assert.Contains(t, out.String()+errb.String(), "recovers")
	c, body := apiCall(t, "GET", api+"/routes/m/faults", "tok", "")
	assert.Equal(t, 200, c)
	assert.JSONEq(t, `[]`, body, "rolled back through the API")
	j, _ := filepath.Glob(filepath.Join(dir, "journal", "*"))
	for _, f := range j {
		b, _ := os.ReadFile(f)
		assert.NotContains(t, string(b), `"tok"`, "the journal keeps the token's variable name, not the token")
	}
}

// TestRecoverRemovesARemoteFaultThroughTheAPI: a run killed with the fault
// on leaves it in the proxy; `chaos recover` in another process removes it.
func TestRecoverRemovesARemoteFaultThroughTheAPI(t *testing.T) {
	route, api, stop := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0")
	defer stop()
	dir := t.TempDir()
	file := filepath.Join(dir, "remote.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: remote-proxy-killed
stack:
  vars: {route: "http://%s"}
load:
  url: ${route}/v1/chat/completions
  rate: 5/s
faults:
  - name: busy
    kind: ttfb
    target: {proxy: m, api: "%s"}
    params: {delay: 10ms}
    for: 5m
checks:
  - {name: holds, kind: slo, during: busy, error_rate: 100%%}
`, route, api)), 0o644))
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", dir)
	require.NoError(t, cmd.Start())
	waitFor(t, "fault on", func() bool {
		_, body := apiCall(t, "GET", api+"/routes/m/faults", "", "")
		return strings.Contains(body, "ttfb")
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	_, body := apiCall(t, "GET", api+"/routes/m/faults", "", "")
	require.Contains(t, body, "ttfb", "the fault stays behind after kill -9\n%s", errb.String())
	code, out, stderr := chaos(t, "recover", "--state-dir", dir)
	assert.Equal(t, 0, code, out+stderr)
	_, body = apiCall(t, "GET", api+"/routes/m/faults", "", "")
	assert.JSONEq(t, `[]`, body)
	_ = url.PathEscape
	_ = time.Second
}
