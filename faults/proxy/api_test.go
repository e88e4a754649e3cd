package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
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

// send is call with every header set by the caller.
func send(t *testing.T, method, u, body string, hdr map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var e map[string]string
		require.NoError(t, json.Unmarshal(b, &e), "every refusal is JSON: %s", b)
		require.NotEmpty(t, e["error"], "%s", b)
	}
	return resp.StatusCode, string(b)
}

// TestAPIRefusesBrowserAttacks: on loopback without a token, what a web page
// could make a browser send is refused before it reaches a handler.
func TestAPIRefusesBrowserAttacks(t *testing.T) {
	rt := startRoute(t, ModeHTTP, "127.0.0.1:1")
	api := httptest.NewServer(NewAPI(""))
	defer api.Close()
	host := strings.TrimPrefix(api.URL, "http://")
	faults := api.URL + "/routes/" + url.PathEscape(rt.Name()) + "/faults"
	add := `{"kind":"ttfb","params":{"delay":"1s"}}`
	jsonCT := map[string]string{"Content-Type": "application/json"}
	with := func(kv ...string) map[string]string {
		h := map[string]string{"Content-Type": "application/json"}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i]] = kv[i+1]
		}
		return h
	}
	for _, tc := range []struct {
		name   string
		method string
		body   string
		hdr    map[string]string
		want   int
		msg    string
	}{
		{"cross-origin POST", "POST", add, with("Origin", "http://evil.example"), 403, "cross-origin"},
		{"cross-origin from another local port", "POST", add, with("Origin", "http://localhost:3000"), 403, "cross-origin"},
		{"null origin", "POST", add, with("Origin", "null"), 403, "cross-origin"},
		{"Sec-Fetch-Site cross-site", "POST", add, with("Sec-Fetch-Site", "cross-site"), 403, "cross-origin"},
		{"Sec-Fetch-Site same-site", "GET", "", with("Sec-Fetch-Site", "same-site"), 403, "cross-origin"},
		{"cross-origin GET of routes", "GET", "", with("Origin", "https://evil.example"), 403, "cross-origin"},
		{"DNS rebinding Host", "POST", add, with("Host", "evil.example:"+strings.Split(host, ":")[1]), 403, "DNS rebinding"},
		{"rebinding Host on a GET", "GET", "", with("Host", "attacker.test"), 403, "DNS rebinding"},
		{"missing Content-Type", "POST", add, map[string]string{}, 415, "not JSON"},
		{"form Content-Type", "POST", add, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415, "not JSON"},
		{"text/plain Content-Type", "POST", add, map[string]string{"Content-Type": "text/plain"}, 415, "not JSON"},
		{"trailing bytes", "POST", add + `{"kind":"ttfb"}`, jsonCT, 400, "trailing data"},
		{"trailing garbage", "POST", add + `xyz`, jsonCT, 400, "trailing data"},
		{"body too large", "POST", `{"kind":"ttfb","id":"` + strings.Repeat("a", MaxBody) + `"}`, jsonCT, 413, "larger than"},
		{"id too long", "POST", `{"id":"` + strings.Repeat("a", MaxIDLen+1) + `","kind":"ttfb","params":{"delay":"1s"}}`, jsonCT, 400, "fault id"},
		{"id with a slash", "POST", `{"id":"a/b","kind":"ttfb","params":{"delay":"1s"}}`, jsonCT, 400, "fault id"},
		{"id with a space", "POST", `{"id":"a b","kind":"ttfb","params":{"delay":"1s"}}`, jsonCT, 400, "fault id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.method, faults, tc.body, tc.hdr)
			assert.Equal(t, tc.want, code, body)
			assert.Contains(t, body, tc.msg)
		})
	}
	assert.Empty(t, rt.Faults(), "nothing refused was applied")

	for _, tc := range []struct {
		name string
		hdr  map[string]string
	}{
		{"same origin", with("Origin", api.URL)},
		{"Sec-Fetch-Site same-origin", with("Sec-Fetch-Site", "same-origin")},
		{"Host localhost with another port", with("Host", "localhost:9999")},
		{"Host loopback IPv6", with("Host", "[::1]:8474")},
		{"JSON with a charset", with("Content-Type", "application/json; charset=utf-8")},
	} {
		t.Run("accepted: "+tc.name, func(t *testing.T) {
			code, body := send(t, "POST", faults, add, tc.hdr)
			assert.Equal(t, 201, code, body)
		})
	}
	code, body := send(t, "POST", faults, `{"id":"`+strings.Repeat("a", MaxIDLen)+`","kind":"ttfb","params":{"delay":"1s"}}`, jsonCT)
	assert.Equal(t, 201, code, "an id of exactly %d characters is fine: %s", MaxIDLen, body)
}

func TestAPIHostRules(t *testing.T) {
	a := &API{Listen: "10.1.2.3:8474", AllowHosts: []string{"chaos-proxy"}}
	for host, want := range map[string]bool{
		"10.1.2.3:8474":     true, // the listen address itself
		"127.0.0.1:1":       true,
		"localhost":         true,
		"LOCALHOST:8474":    true,
		"[::1]:8474":        true,
		"chaos-proxy:8474":  true,
		"evil.example:8474": false,
		"10.1.2.3.nip.io":   false,
		"":                  false,
		"192.0.2.1:8474":    false, // not an address of this machine
	} {
		assert.Equal(t, want, a.hostAllowed(host), host)
	}
	all := &API{Listen: "0.0.0.0:8474"}
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, ad := range addrs {
		if n, ok := ad.(*net.IPNet); ok && !n.IP.IsLoopback() {
			assert.True(t, all.hostAllowed(net.JoinHostPort(n.IP.String(), "8474")), "bound to 0.0.0.0, %s is an address of this machine", n.IP)
			assert.False(t, (&API{Listen: "127.0.0.1:8474"}).hostAllowed(n.IP.String()+":8474"), "bound to loopback, %s is foreign", n.IP)
		}
	}
}

func TestAPICapsFaultsPerRoute(t *testing.T) {
	rt := startRoute(t, ModeHTTP, "127.0.0.1:1")
	api := httptest.NewServer(NewAPI(""))
	defer api.Close()
	faults := api.URL + "/routes/" + url.PathEscape(rt.Name()) + "/faults"
	for i := range MaxFaults {
		code, body := call(t, "POST", faults, "", fmt.Sprintf(`{"id":"f%d","kind":"ttfb","params":{"delay":"1s"}}`, i))
		require.Equal(t, 201, code, "%v", body)
	}
	code, body := call(t, "POST", faults, "", `{"kind":"ttfb","params":{"delay":"1s"}}`)
	assert.Equal(t, 409, code)
	assert.Contains(t, body["error"], fmt.Sprintf("already holds %d faults", MaxFaults))
	assert.Len(t, rt.Faults(), MaxFaults)
	code, _ = call(t, "DELETE", faults+"/f0", "", "")
	require.Equal(t, 200, code)
	code, body = call(t, "POST", faults, "", `{"kind":"ttfb","params":{"delay":"1s"}}`)
	assert.Equal(t, 201, code, "room again after a removal: %v", body)
}
