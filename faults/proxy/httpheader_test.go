package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHTTPHeaderChangesWhatEachSideSees: through a real route to a real
// upstream, http-header drops or sets a request header (what the upstream
// received) or a response header (what the client received), only on the
// requests it matches, and not once it is removed.
func TestHTTPHeaderChangesWhatEachSideSees(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("X-Model", "primary")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer up.Close()
	rt, err := Start(Options{Name: t.Name(), Listen: "127.0.0.1:0", Upstream: strings.TrimPrefix(up.URL, "http://")})
	require.NoError(t, err)
	defer rt.Close()

	get := func(path string) (upstream, client http.Header) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+rt.Addr()+path, nil)
		require.NoError(t, err)
		req.Header.Set("X-Priority", "high")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return <-seen, resp.Header
	}

	for _, tc := range []struct {
		name, params string
		check        func(t *testing.T, upstream, client http.Header)
	}{
		{"drop a request header", `{"name":"x-priority","drop":true}`, func(t *testing.T, upstream, client http.Header) {
			assert.NotContains(t, upstream, "X-Priority")
		}},
		{"set a request header", `{"side":"request","name":"X-Priority","set":"low"}`, func(t *testing.T, upstream, client http.Header) {
			assert.Equal(t, []string{"low"}, upstream.Values("X-Priority"))
		}},
		{"add a request header", `{"name":"X-Debug","set":"1"}`, func(t *testing.T, upstream, client http.Header) {
			assert.Equal(t, "1", upstream.Get("X-Debug"))
			assert.Equal(t, "high", upstream.Get("X-Priority"))
		}},
		{"drop a response header", `{"side":"response","name":"X-Model","drop":true}`, func(t *testing.T, upstream, client http.Header) {
			assert.NotContains(t, client, "X-Model")
			assert.Equal(t, "application/json", client.Get("Content-Type"))
		}},
		{"set a response header", `{"side":"response","name":"Content-Type","set":"text/html"}`, func(t *testing.T, upstream, client http.Header) {
			assert.Equal(t, "text/html", client.Get("Content-Type"))
			assert.Equal(t, "primary", client.Get("X-Model"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, err := rt.Add(Spec{Kind: "http-header", Params: []byte(tc.params), Seed: 1})
			require.NoError(t, err)
			upstream, client := get("/v1/chat/completions")
			tc.check(t, upstream, client)
			require.NoError(t, rt.Remove(id))
			upstream, client = get("/v1/chat/completions")
			assert.Equal(t, "high", upstream.Get("X-Priority"), "removed: the request passes as it came")
			assert.Equal(t, "primary", client.Get("X-Model"), "removed: the answer passes as it came")
		})
	}

	t.Run("only the requests it matches", func(t *testing.T) {
		id, err := rt.Add(Spec{Kind: "http-header", Params: []byte(`{"name":"X-Priority","drop":true,"path":"/v1/"}`), Seed: 1})
		require.NoError(t, err)
		defer func() { _ = rt.Remove(id) }()
		upstream, _ := get("/healthz")
		assert.Equal(t, "high", upstream.Get("X-Priority"))
		upstream, _ = get("/v1/models")
		assert.NotContains(t, upstream, "X-Priority")
	})
}

func TestHTTPHeaderRefusesWhatItCannotDo(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     HTTPHeader
		field string
	}{
		{"no name", HTTPHeader{Drop: true, Share: All}, "name"},
		{"bad name", HTTPHeader{Name: "X Priority", Drop: true, Share: All}, "name"},
		{"neither set nor drop", HTTPHeader{Name: "X-A", Share: All}, "set"},
		{"both set and drop", HTTPHeader{Name: "X-A", Set: "1", Drop: true, Share: All}, "set"},
		{"line break in value", HTTPHeader{Name: "X-A", Set: "1\r\nX-B: 2", Share: All}, "set"},
		{"bad side", HTTPHeader{Side: "both", Name: "X-A", Drop: true, Share: All}, "side"},
		{"host upstream", HTTPHeader{Name: "host", Set: "evil", Share: All}, "name"},
		{"share 0", HTTPHeader{Name: "X-A", Drop: true}, "share"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.p.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	rt, err := Start(Options{Name: t.Name(), Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1"})
	require.NoError(t, err)
	defer rt.Close()
	_, err = rt.Add(Spec{Kind: "http-header", Params: []byte(`{"name":"X-A"}`)})
	assert.ErrorContains(t, err, "set: give a value to set or drop: true")
	tcp, err := Start(Options{Name: t.Name() + "-tcp", Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1", Mode: ModeTCP})
	require.NoError(t, err)
	defer tcp.Close()
	_, err = tcp.Add(Spec{Kind: "http-header", Params: []byte(`{"name":"X-A","drop":true}`)})
	assert.ErrorContains(t, err, "HTTP fault")
}
