package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
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
	route, api, _, stop = startProxyEnv(t, nil, args...)
	return route, api, stop
}

// startProxyEnv is startProxy with more environment variables; it also
// returns the child, whose /proc/PID/cmdline is what ps shows.
func startProxyEnv(t *testing.T, env []string, args ...string) (route, api string, cmd *exec.Cmd, stop func() (int, string)) {
	t.Helper()
	cmd, out, errb := chaosCmd(t, append([]string{"proxy"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
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
	return route, api, cmd, stop
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
	return apiSend(t, method, u, token, body, map[string]string{"Content-Type": "application/json"})
}

// apiSend is apiCall with the caller's headers only ("Host" sets the Host).
func apiSend(t *testing.T, method, u, token, body string, hdr map[string]string) (int, string) {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
		} else if body != "" || k != "Content-Type" {
			req.Header.Set(k, v)
		}
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

// cmdline is what ps shows of a process: its argv.
func cmdline(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	require.NoError(t, err)
	require.NotEmpty(t, b)
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// TestProxyTokenFromFileOrEnvironmentStaysOutOfPs: --token-file and
// CHAOS_PROXY_TOKEN set the token, and the argv ps shows does not hold it.
func TestProxyTokenFromFileOrEnvironmentStaysOutOfPs(t *testing.T) {
	const secret = "f1le-t0ken-9d2c"
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(secret+"\n"), 0o600))
	for _, tc := range []struct {
		name   string
		env    []string
		args   []string
		secret string
	}{
		{"token file", nil, []string{"--token-file", file}, secret},
		{"environment", []string{"CHAOS_PROXY_TOKEN=env-t0ken-77aa"}, nil, "env-t0ken-77aa"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0"}, tc.args...)
			_, api, cmd, stop := startProxyEnv(t, tc.env, args...)
			defer stop()
			ps := cmdline(t, cmd.Process.Pid)
			assert.Contains(t, ps, "proxy --listen", "this is the proxy's argv")
			assert.NotContains(t, ps, tc.secret, "the token is not in ps")
			code, body := apiCall(t, "GET", api+"/routes", "", "")
			assert.Equal(t, 401, code, "the token is required: %s", body)
			code, _ = apiCall(t, "GET", api+"/routes", "wrong", "")
			assert.Equal(t, 403, code)
			code, body = apiCall(t, "GET", api+"/routes", tc.secret, "")
			assert.Equal(t, 200, code, body)
			code, body = apiCall(t, "POST", api+"/routes/m/faults", tc.secret, `{"id":"x","kind":"ttfb","params":{"delay":"10ms"}}`)
			assert.Equal(t, 201, code, body)
		})
	}
	t.Run("--token shows in ps, as documented", func(t *testing.T) {
		_, _, cmd, stop := startProxyEnv(t, nil, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0", "--token", "visible-tok")
		defer stop()
		assert.Contains(t, cmdline(t, cmd.Process.Pid), "visible-tok")
	})
}

func TestProxyTokenFileMistakes(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	two := filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(two, []byte("a\nb\n"), 0o600))
	base := []string{"proxy", "--listen", "127.0.0.1:0", "--upstream", "127.0.0.1:1", "--api", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--token-file", filepath.Join(dir, "nope")}, "no such file"},
		{"empty file", []string{"--token-file", empty}, "is empty"},
		{"two lines", []string{"--token-file", two}, "more than one line"},
		{"both flags", []string{"--token-file", empty, "--token", "t"}, "exclusive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := chaos(t, append(base, tc.args...)...)
			assert.Equal(t, 2, code, stderr)
			assert.Contains(t, stderr, tc.want)
		})
	}
	code, out, _ := chaos(t, "proxy", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "--token-file")
	assert.Contains(t, out, "visible to every local user in ps")
}

// TestProxyCommandRefusesBrowserRequests: the served API, on loopback and
// without a token, refuses a cross-origin request, a rebinding Host and a
// body that is not declared JSON; --api-host adds a name.
func TestProxyCommandRefusesBrowserRequests(t *testing.T) {
	_, api, stop := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0", "--api-host", "chaos-proxy")
	defer stop()
	add := `{"kind":"http-error","params":{"status":503}}`
	ct := func(kv ...string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	_, port, _ := strings.Cut(strings.TrimPrefix(api, "http://"), ":")
	for _, tc := range []struct {
		name string
		hdr  map[string]string
		want int
	}{
		{"cross-origin", ct("Origin", "http://evil.example"), 403},
		{"rebinding Host", ct("Host", "evil.example:"+port), 403},
		{"no Content-Type", map[string]string{}, 415},
		{"form", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"--api-host name", ct("Host", "chaos-proxy:"+port), 201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := apiSend(t, "POST", api+"/routes/m/faults", "", add, tc.hdr)
			assert.Equal(t, tc.want, code, body)
			assert.True(t, json.Valid([]byte(body)), body)
		})
	}
	code, body := apiCall(t, "GET", api+"/routes/m/faults", "", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, 1, strings.Count(body, `"id"`), "only the accepted request added a fault: %s", body)
}
