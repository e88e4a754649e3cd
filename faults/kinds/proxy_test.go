package kinds

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
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

// TestProxyKindsInjectAndRollBack: the registry adapts every proxy kind
// (and only those), and every one, with its defaults, validates, is
// journaled and installed on a route of each mode it runs on (the route
// holds the kind by its name), and rolls back: off the route, and out of
// the journal's pending entries.
func TestProxyKindsInjectAndRollBack(t *testing.T) {
	var registered []string
	for name, k := range All {
		if slices.Contains(k.Targets, "proxy") {
			registered = append(registered, name)
		}
	}
	slices.Sort(registered)
	require.Equal(t, proxy.KindNames(), registered, "the registry's proxy kinds are the proxy's")

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	upstream := strings.TrimPrefix(up.URL, "http://")
	for _, mode := range []proxy.Mode{proxy.ModeHTTP, proxy.ModeTCP} {
		rt, err := proxy.Start(proxy.Options{Name: "kinds-" + string(mode), Listen: "127.0.0.1:0", Upstream: upstream, Mode: mode})
		require.NoError(t, err)
		defer rt.Close()
		require.NotEmpty(t, proxy.Kinds(mode))
		for _, kind := range proxy.Kinds(mode) {
			t.Run(string(mode)+"/"+kind, func(t *testing.T) {
				f := All[kind].New()
				require.Empty(t, f.Validate(), "defaults are valid")
				env, j := testEnv(t, targets.Target{Name: "m", Proxy: rt})
				env.Fault = kind
				require.NoError(t, f.Inject(context.Background(), env))
				infos := rt.FaultInfos()
				require.Len(t, infos, 1)
				assert.Equal(t, kind, infos[0].Spec.Kind)
				pending := j.Pending()
				require.Len(t, pending, 1, "journaled")
				assert.Equal(t, "in-process", pending[0].Action)
				assert.Equal(t, "m", pending[0].Target)
				require.NoError(t, f.Rollback(context.Background()))
				assert.Empty(t, rt.Faults())
				assert.Empty(t, j.Pending(), "the journal has it undone")
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
