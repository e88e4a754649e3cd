package faults

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/faults/targets"
)

// TestProxyAPIFaultJournalHoldsNoToken: a fault injected through a chaos
// proxy's control API is journaled with the token's variable name only, and
// undone from the journal alone with the token read from the environment;
// a token field in an old journal is not sent.
func TestProxyAPIFaultJournalHoldsNoToken(t *testing.T) {
	const secret = "j0urnal-s3cret-token"
	t.Setenv("CHAOS_TEST_API_TOKEN", secret)
	rt, err := proxy.Start(proxy.Options{Name: "journal-token", Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1", Mode: proxy.ModeHTTP})
	require.NoError(t, err)
	defer rt.Close()
	api := httptest.NewServer(proxy.NewAPI(secret))
	defer api.Close()
	ts, err := targets.ResolveProxy(targets.Spec{Proxy: rt.Name(), API: api.URL, Token: "${CHAOS_TEST_API_TOKEN}"}, nil)
	require.NoError(t, err)

	env, j := testEnv(t, ts...)
	f := ProxyKinds([]proxy.KindInfo{proxy.HTTPErrorKind})["http-error"].New()
	require.NoError(t, f.Inject(context.Background(), env))
	require.Len(t, rt.Faults(), 1, "the fault went on through the API")

	b, err := os.ReadFile(j.Path())
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret, "the journal file holds no token")
	assert.Contains(t, string(b), "CHAOS_TEST_API_TOKEN", "only the variable's name")
	pending := j.Pending()
	require.Len(t, pending, 1)
	e := pending[0]
	assert.NotContains(t, string(e.Data), secret)

	var d map[string]string
	require.NoError(t, json.Unmarshal(e.Data, &d))
	d["token"], d["token_env"] = secret, ""
	old := e
	old.Data, _ = json.Marshal(d)
	err = undoProxyAPI(context.Background(), old)
	require.Error(t, err, "a journaled token is ignored, so the API refuses the call")
	assert.Contains(t, err.Error(), "401")
	assert.Len(t, rt.Faults(), 1)

	require.NoError(t, undoProxyAPI(context.Background(), e), "token_env is read from the environment")
	assert.Empty(t, rt.Faults())
}
