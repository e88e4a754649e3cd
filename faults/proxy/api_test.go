package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func call(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && len(b) > 0 && b[0] == '{' {
		require.NoError(t, json.Unmarshal(b, &v), "%s", b)
	}
	return resp.StatusCode, v
}

func TestAPIRequiresTheToken(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	api := httptest.NewServer(NewAPI("s3cret"))
	defer api.Close()
	faults := api.URL + "/routes/" + url.PathEscape(rt.Name()) + "/faults"
	add := `{"kind":"http-error","params":{"status":503}}`

	code, body := call(t, "POST", faults, "", add)
	assert.Equal(t, 401, code)
	assert.Contains(t, body["error"], "missing token")
	code, body = call(t, "POST", faults, "wrong", add)
	assert.Equal(t, 403, code)
	assert.Contains(t, body["error"], "wrong token")
	code, _ = call(t, "GET", api.URL+"/metrics", "", "")
	assert.Equal(t, 401, code)
	assert.Empty(t, rt.Faults(), "nothing applied")
	code, _ = call(t, "GET", api.URL+"/healthz", "", "")
	assert.Equal(t, 200, code, "health needs no token")

	code, body = call(t, "POST", faults, "s3cret", add)
	require.Equal(t, 201, code, "%v", body)
	id := body["id"].(string)
	assert.Equal(t, []string{id}, rt.Faults())
	resp, err := http.Get("http://" + rt.Addr() + "/plain")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
	code, body = call(t, "DELETE", faults+"/"+url.PathEscape(id), "s3cret", "")
	assert.Equal(t, 200, code)
	assert.Equal(t, true, body["removed"])
	code, body = call(t, "DELETE", faults+"/"+url.PathEscape(id), "s3cret", "")
	assert.Equal(t, 200, code, "removing twice is fine")
	assert.Equal(t, false, body["removed"])
}

func TestAPIBadInputIsA4xxWithJSON(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	api := httptest.NewServer(NewAPI(""))
	defer api.Close()
	faults := api.URL + "/routes/" + url.PathEscape(rt.Name()) + "/faults"
	for _, tc := range []struct {
		name, method, url, body string
		want                    int
	}{
		{"bad JSON", "POST", faults, `{"kind":`, 400},
		{"unknown field", "POST", faults, `{"kind":"latency","parms":{}}`, 400},
		{"no kind", "POST", faults, `{}`, 400},
		{"unknown kind", "POST", faults, `{"kind":"nope"}`, 400},
		{"share 1.5", "POST", faults, `{"kind":"latency","params":{"delay":"1s","share":"150%"}}`, 400},
		{"unknown route", "POST", api.URL + "/routes/none/faults", `{"kind":"latency"}`, 404},
		{"unknown endpoint", "GET", api.URL + "/nope", ``, 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, tc.method, tc.url, "", tc.body)
			assert.Equal(t, tc.want, code)
			assert.NotEmpty(t, body["error"])
		})
	}
	assert.Empty(t, rt.Faults())
	resp, err := http.Get("http://" + rt.Addr() + "/plain")
	require.NoError(t, err, "the proxy keeps serving")
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

func TestAPIDuplicateIDConflicts(t *testing.T) {
	rt := startRoute(t, ModeHTTP, "127.0.0.1:1")
	api := httptest.NewServer(NewAPI(""))
	defer api.Close()
	faults := api.URL + "/routes/" + url.PathEscape(rt.Name()) + "/faults"
	code, _ := call(t, "POST", faults, "", `{"id":"run-1","kind":"ttfb","params":{"delay":"1s"}}`)
	assert.Equal(t, 201, code)
	code, _ = call(t, "POST", faults, "", `{"id":"run-1","kind":"ttfb","params":{"delay":"1s"}}`)
	assert.Equal(t, 409, code)
}

func TestCheckBindNeedsTokenBeyondLoopback(t *testing.T) {
	assert.NoError(t, CheckBind("127.0.0.1:8474", ""))
	assert.NoError(t, CheckBind("localhost:8474", ""))
	assert.NoError(t, CheckBind("[::1]:8474", ""))
	assert.ErrorContains(t, CheckBind("0.0.0.0:8474", ""), "token is required")
	assert.ErrorContains(t, CheckBind(":8474", ""), "token is required")
	assert.NoError(t, CheckBind("0.0.0.0:8474", "t"))
}

func TestClientDrivesARemoteRoute(t *testing.T) {
	up := sseUpstream(t, 1)
	rt := startRoute(t, ModeHTTP, strings.TrimPrefix(up.URL, "http://"))
	api := httptest.NewServer(NewAPI("tok"))
	defer api.Close()
	c := NewClient(api.URL, rt.Name(), "tok")
	require.NoError(t, c.Check(t.Context()))
	id, err := c.AddID("run-7", spec("http-error", `{"status":429}`))
	require.NoError(t, err)
	assert.Equal(t, "run-7", id)
	assert.Equal(t, []string{"run-7"}, rt.Faults())
	require.NoError(t, c.Remove(id))
	require.NoError(t, c.Remove(id))
	assert.Empty(t, rt.Faults())
	bad := NewClient(api.URL, rt.Name(), "nope")
	_, err = bad.Add(spec("ttfb", `{}`))
	assert.ErrorContains(t, err, "403")
}
