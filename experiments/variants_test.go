package experiments

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVariantsComeFromTheRegistry: the gateway variants are the plugged-in
// stack's (Registry.Variants); without any, none is refused here and the
// schema lists none.
func TestVariantsComeFromTheRegistry(t *testing.T) {
	src := []byte(`version: chaos/v1
name: v
stack: {local: {variant: [no-brakes]}}
load: {url: "${gateway}/", rate: 1/s}
faults: [{name: f, kind: process, target: {service: gateway}, for: 1s}]
`)
	_, err := Parse("v.yaml", src, withVariants())
	require.Error(t, err)
	assert.Contains(t, err.Error(), `v.yaml:3:27: stack.local.variant[0]: unknown variant "no-brakes", did you mean "no-breaker"?`)

	_, err = Parse("v.yaml", src, DefaultRegistry())
	require.NoError(t, err, "no variants known: the stack checks them when it starts")

	for name, schema := range map[string]func(Registry) ([]byte, error){"experiment": SchemaFor, "suite": SuiteSchemaFor} {
		with, err := schema(withVariants())
		require.NoError(t, err)
		without, err := schema(DefaultRegistry())
		require.NoError(t, err)
		assert.Contains(t, string(with), `"no-fallback"`, name)
		assert.NotContains(t, string(without), `"no-breaker"`, name)
	}
}
