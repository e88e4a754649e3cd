package verify

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestKindsDecodeFromYAML decodes each kind's own fields, as written inline
// in an experiment's check, into the value its New returns.
func TestKindsDecodeFromYAML(t *testing.T) {
	examples := map[string]string{
		"slo":        `{class: high, p99: 1500ms, error_rate: 1%, min_requests: 20}`,
		"breaker":    `{within: 5s, closes: true, metric: {url: "${gateway}/metrics", name: gateway_breaker_state, labels: {upstream: primary}, open: 2}}`,
		"degraded":   `{min_share: 50%, max_share: 100%}`,
		"recover":    `{within: 20s, stable: 5s, slo: {p99: 1500ms, error_rate: 1%}}`,
		"http":       `{url: "${gateway}/healthz", contains: ok, min_success: 90%}`,
		"prometheus": `{url: "${gateway}/metrics", metric: gateway_shed_total, labels: {priority: high}, mode: increase, max: 0}`,
		"promql":     `{url: "http://127.0.0.1:9090", query: "max_over_time(gateway_breaker_state[${window}])", min: 1}`,
		"command":    `{run: [curl, -fsS, "${gateway}/healthz"], timeout: 3s, contains: ok}`,
		"container":  `{target: {service: model-primary}, running: true, healthy: true, max_restarts: 0}`,
		"pods":       `{target: {deployment: model-primary, namespace: inference}, ready: 2, within: 30s, max_restarts: 0}`,
		"events":     `{reason: Killing|Scheduled, object: {kind: Pod, name: model-.*}, type: Normal, message: container, min: 1, max: 10}`,
	}
	var names []string
	for name := range Kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			src, ok := examples[name]
			require.True(t, ok, "add an example for kind %q", name)
			c := Kinds[name].New()
			require.NoError(t, yaml.Unmarshal([]byte(src), c))
			assert.Empty(t, c.Validate())
		})
	}
	// Spot-check values and defaults.
	b := Kinds["breaker"].New().(*BreakerCheck)
	require.NoError(t, yaml.Unmarshal([]byte(examples["breaker"]), b))
	assert.Equal(t, 5*time.Second, b.Within.D())
	assert.Equal(t, 2.0, b.Metric.open())
	assert.Equal(t, map[string]string{"upstream": "primary"}, b.Metric.Labels)
	s := Kinds["slo"].New().(*SLOCheck)
	require.NoError(t, yaml.Unmarshal([]byte(examples["slo"]), s))
	assert.Equal(t, "high", s.Class)
	assert.Equal(t, "p99 ≤ 1.5s, error rate ≤ 1%", s.Bound())
	assert.Equal(t, 20, s.MinCount)
	r := Kinds["recover"].New().(*RecoverCheck)
	require.NoError(t, yaml.Unmarshal([]byte(`{slo: {p99: 1s}}`), r))
	assert.Equal(t, 30*time.Second, r.Within.D(), "default within")
	assert.Equal(t, 3*time.Second, r.Stable.D(), "default stable")
	h := Kinds["http"].New().(*HTTPCheck)
	assert.Equal(t, "GET", h.Method)
	assert.Equal(t, 200, h.Status)
	assert.Equal(t, 1.0, h.MinSuccess.Fraction())
}

// TestKindsNeedParams checks that every kind's bare New fails validation:
// each one has something the user must say.
func TestKindsNeedParams(t *testing.T) {
	for name, k := range Kinds {
		assert.NotEmpty(t, k.Summary, name)
		c := k.New()
		assert.NotSame(t, c, k.New(), "%s: New returns a fresh value", name)
		assert.NotEmpty(t, c.Validate(), "%s: a bare check must not validate", name)
	}
}
