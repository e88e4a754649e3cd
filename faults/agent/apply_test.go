package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/kinds"
)

// TestEveryKindDecodesWhatTheRunSends: the run sends a kind's params as
// the JSON of its decoded fault (faults/remote); the agent decodes them
// with the same json tags, unknown fields refused.
func TestEveryKindDecodesWhatTheRunSends(t *testing.T) {
	for _, name := range Kinds() {
		b, err := json.Marshal(kinds.All[name].New())
		require.NoError(t, err, name)
		_, _, ae := decode(Request{ID: "x", Kind: name, Params: b})
		if ae != nil {
			assert.NotContains(t, ae.Error(), "unknown field", name)
			assert.True(t, strings.Contains(ae.Error(), "params."), "%s: %v", name, ae)
		}
	}
	kind, f, ae := decode(Request{ID: "x", Kind: "net-latency", Params: []byte(`{"delay":"250ms","jitter":"10ms","peers":["10.0.0.1"],"port":8000}`)})
	require.Nil(t, ae)
	assert.Equal(t, "net-latency", kind)
	b, _ := json.Marshal(f)
	assert.JSONEq(t, `{"delay":"250ms","jitter":"10ms","peers":["10.0.0.1"],"port":8000}`, string(b))
	kind, _, ae = decode(Request{ID: "x", Kind: "pause", Params: []byte(`{}`)})
	require.Nil(t, ae)
	assert.Equal(t, "freeze", kind, "pause on a pod is freeze")
}
