package experiments

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKubernetesStackWrittenEmpty: "kubernetes:" with nothing after it is
// the cluster kubectl would use, as {} is, not a stack without a cluster.
func TestKubernetesStackWrittenEmpty(t *testing.T) {
	for _, stack := range []string{"stack:\n  kubernetes:\n", "stack: {kubernetes: {}}\n", "stack: {kubernetes: ~}\n"} {
		exp, err := Parse("k.yaml", []byte("version: chaos/v1\nname: t\n"+stack+`load: {url: "${gateway}/", method: GET, rate: 5/s}
faults:
  - {name: gone, kind: pod-delete, target: {deployment: model}, for: 2s}
checks:
  - {name: back, kind: pods, during: recovery, target: {deployment: model}, ready: 1}
`), DefaultRegistry())
		require.NoError(t, err, stack)
		require.NotNil(t, exp.Stack.Kubernetes, stack)
		assert.Equal(t, KubeStack{}, *exp.Stack.Kubernetes)
	}
	exp, err := Parse("k.yaml", []byte(`version: chaos/v1
name: t
load: {url: "http://x/", method: GET, rate: 5/s}
`), DefaultRegistry())
	require.NoError(t, err)
	assert.Nil(t, exp.Stack.Kubernetes, "no stack.kubernetes written")
}
