package proxy

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKindValidation: a kind's Validate names the field at fault.
func TestKindValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		p     Params
		field string
	}{
		{"share 0", &TTFB{Delay: 1e9}, "share"},
		{"bad direction", &Bandwidth{RateKB: 1, Share: All, Flow: Flow{"sideways"}}, "direction"},
		{"latency without delay", &Latency{Share: All}, "delay"},
		{"jitter above delay", &SlowTokens{Delay: 1e6, Jitter: 2e6, Share: All}, "jitter"},
		{"stall without for", &StreamStall{After: 1, Share: All}, "for"},
		{"negative after", &StreamCut{After: -1, Share: All}, "after"},
		{"slicer variation", &Slicer{AverageSize: 4, SizeVariation: 4, Share: All}, "size_variation"},
		{"200 without corrupt", &HTTPError{Status: 200, Share: All}, "status"},
		{"fail-first count", &FailFirst{Status: 503}, "count"},
		{"negative bytes", &LimitData{Bytes: -1, Share: All}, "bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.p.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	assert.Empty(t, (&HTTPError{Status: 200, Corrupt: "malformed", Share: All}).Validate())
}

// TestKindsEveryModeBuildsTheDefaults: every kind in the table runs on a
// route of at least one mode, its defaults are valid, and a route of each
// mode it runs on builds them (the yaml defaults are a spec the API takes).
func TestKindsEveryModeBuildsTheDefaults(t *testing.T) {
	onHTTP, onTCP := Kinds(ModeHTTP), Kinds(ModeTCP)
	for _, name := range KindNames() {
		assert.True(t, slices.Contains(onHTTP, name) || slices.Contains(onTCP, name), "%s runs on no route", name)
	}
	for _, mode := range []Mode{ModeHTTP, ModeTCP} {
		rt, err := Start(Options{Name: "defaults-" + string(mode), Listen: "127.0.0.1:0", Upstream: "127.0.0.1:1", Mode: mode})
		require.NoError(t, err)
		defer rt.Close()
		for _, name := range Kinds(mode) {
			t.Run(string(mode)+"/"+name, func(t *testing.T) {
				params := defaultsJSON(t, name)
				id, err := rt.Add(Spec{Kind: name, Params: params, Seed: 1})
				require.NoError(t, err)
				require.NoError(t, rt.Remove(id))
			})
		}
	}
}

// defaultsJSON is the kind's defaults as the adapter sends them.
func defaultsJSON(t *testing.T, name string) []byte {
	t.Helper()
	b, err := json.Marshal(kinds[name].Defaults())
	require.NoError(t, err)
	return b
}
