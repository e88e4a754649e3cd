package run

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/verify"
)

// TestExpandAllEveryStringField: ${name} and ${env:NAME} expand in plain
// strings, maps, a JSON body of any shape and a PromQL query, where
// ${window} is left for the check; an unknown name or an unset
// environment variable is an invalid experiment naming it.
func TestExpandAllEveryStringField(t *testing.T) {
	t.Setenv("CHAOS_TEST_MODEL", "primary")
	w := &world{vars: map[string]string{"prom": "http://127.0.0.1:9090", "upstream": "primary"}}
	v := struct {
		URL     string
		Headers map[string]string
		Body    any
		Query   verify.PromQL
	}{
		URL:     "${prom}/api",
		Headers: map[string]string{"X-Up": "${upstream}"},
		Body:    map[string]any{"model": "${env:CHAOS_TEST_MODEL}", "messages": []any{map[string]any{"content": "${upstream}"}}, "n": 1},
		Query:   verify.NewPromQL(`max_over_time(gateway_breaker_state{upstream="${upstream}"}[${window}])`),
	}
	require.NoError(t, w.expandAll("x", &v))
	assert.Equal(t, "http://127.0.0.1:9090/api", v.URL)
	assert.Equal(t, "primary", v.Headers["X-Up"])
	body := v.Body.(map[string]any)
	assert.Equal(t, "primary", body["model"])
	assert.Equal(t, "primary", body["messages"].([]any)[0].(map[string]any)["content"])
	assert.Equal(t, 1, body["n"])
	assert.Equal(t, `max_over_time(gateway_breaker_state{upstream="primary"}[${window}])`, v.Query.String())

	q := struct{ Query verify.PromQL }{verify.NewPromQL(`up{job="${jobb}"}`)}
	err := w.expandAll("checks[0] (up)", &q)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checks[0] (up): unknown variable ${jobb} (valid: ${prom}, ${upstream})")

	s := struct{ URL string }{"${env:CHAOS_TEST_UNSET_X}"}
	err = w.expandAll("load", &s)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load: ${env:CHAOS_TEST_UNSET_X}: the environment variable CHAOS_TEST_UNSET_X is not set")
}
