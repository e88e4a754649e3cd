package kinds

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/faults/targets"
)

func testEnv(t *testing.T, tgts ...targets.Target) (faults.Env, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(t.TempDir(), journal.Meta{Run: "test"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = j.Close() })
	return faults.Env{Fault: "f", Targets: tgts, Journal: j, Rand: rand.New(rand.NewPCG(1, 1)), Log: io.Discard}, j
}

// TestProxyKindsInjectAndRollBack: every proxy fault kind, with its
// defaults, validates, is accepted by a route of its mode (the YAML kind and
// the proxy agree on every parameter name), is journaled, and rolls back.
func TestProxyKindsInjectAndRollBack(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	upstream := strings.TrimPrefix(up.URL, "http://")
	httpKinds := []string{"latency", "jitter", "http-error", "ttfb", "stream-stall", "stream-cut", "slow-tokens", "fail-first"}
	tcpKinds := []string{"latency", "jitter", "bandwidth", "reset", "timeout", "blackhole", "slow-close", "slicer", "limit-data"}
	for mode, kinds := range map[proxy.Mode][]string{proxy.ModeHTTP: httpKinds, proxy.ModeTCP: tcpKinds} {
		rt, err := proxy.Start(proxy.Options{Name: "kinds-" + string(mode), Listen: "127.0.0.1:0", Upstream: upstream, Mode: mode})
		require.NoError(t, err)
		defer rt.Close()
		for _, kind := range kinds {
			t.Run(string(mode)+"/"+kind, func(t *testing.T) {
				k, ok := All[kind]
				require.True(t, ok)
				f := k.New()
				require.Empty(t, f.Validate(), "defaults are valid")
				env, j := testEnv(t, targets.Target{Name: "m", Proxy: rt})
				env.Fault = kind
				require.NoError(t, f.Inject(context.Background(), env))
				assert.Len(t, rt.Faults(), 1)
				require.NoError(t, f.Rollback(context.Background()))
				assert.Empty(t, rt.Faults())
				_ = j
			})
		}
	}
}

func TestProxyKindOnTheWrongModeSaysSo(t *testing.T) {
	rt, err := proxy.Start(proxy.Options{Name: "wrong-mode", Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1", Mode: proxy.ModeHTTP})
	require.NoError(t, err)
	defer rt.Close()
	env, _ := testEnv(t, targets.Target{Name: "m", Proxy: rt})
	f := All["bandwidth"].New()
	err = f.Inject(context.Background(), env)
	require.ErrorContains(t, err, "L4 fault")
	assert.NoError(t, f.Rollback(context.Background()))
	assert.Empty(t, rt.Faults())
}
