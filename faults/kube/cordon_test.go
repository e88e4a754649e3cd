package kube

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestCordonMarksTheNodesAndUncordons(t *testing.T) {
	c := newCluster(t)
	n1, n2 := c.fakeNode(t), c.fakeNode(t)
	c.deployment(t, "web", n1, 2)
	ctx := context.Background()
	// two pods on n1 and the node target n2: each node cordoned once
	env, j, _ := runEnv(t, "run-a", append(c.podTargets(t, "web"), c.nodeTarget(n2))...)
	f := &Cordon{}
	require.NoError(t, f.Preflight(ctx, env.Targets))
	require.NoError(t, f.Inject(ctx, env))
	for _, n := range []string{n1, n2} {
		assert.True(t, c.unschedulable(t, n), n)
		m, ok := c.markOn(t, c.ref(t, nodes, "", n), "chaos.sre/cordon")
		require.True(t, ok, n)
		assert.JSONEq(t, "false", string(m.Old))
		assert.JSONEq(t, "true", string(m.Set))
	}
	assert.Len(t, j.Pending(), 2)
	assert.Len(t, c.running(t, "web"), 2, "a cordon moves nothing")

	require.NoError(t, f.Rollback(ctx))
	for _, n := range []string{n1, n2} {
		assert.False(t, c.unschedulable(t, n), n)
		_, ok := c.markOn(t, c.ref(t, nodes, "", n), "chaos.sre/cordon")
		assert.False(t, ok, n)
	}
	assert.Empty(t, j.Pending())
}

func TestCordonLeavesANodeCordonedBeforeCordoned(t *testing.T) {
	c := newCluster(t)
	n := c.fakeNode(t)
	ctx := context.Background()
	_, err := c.cs.CoreV1().Nodes().Patch(ctx, n, types.MergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	env, j, log := runEnv(t, "run-a", c.nodeTarget(n))
	f := &Cordon{}
	require.NoError(t, f.Inject(ctx, env))
	assert.Contains(t, log.String(), "already has unschedulable true: nothing to change, nor to restore")
	assert.Empty(t, j.Pending(), "nothing changed, nothing journaled")
	_, ok := c.markOn(t, c.ref(t, nodes, "", n), "chaos.sre/cordon")
	assert.False(t, ok, "and nothing marked")
	require.NoError(t, f.Rollback(ctx))
	assert.True(t, c.unschedulable(t, n), "cordoned before the run, cordoned after it")
}

func TestRenewalKeepsTheMarkFreshAndStopsAtRollback(t *testing.T) {
	old := RenewEvery
	RenewEvery = 300 * time.Millisecond
	t.Cleanup(func() { RenewEvery = old })
	c := newCluster(t)
	n := c.fakeNode(t)
	ctx := context.Background()
	env, _, _ := runEnv(t, "run-a", c.nodeTarget(n))
	f := &Cordon{}
	require.NoError(t, f.Inject(ctx, env))
	r := c.ref(t, nodes, "", n)
	first, ok := c.markOn(t, r, "chaos.sre/cordon")
	require.True(t, ok)
	c.eventually(t, "the mark renewed", func() bool {
		m, _ := c.markOn(t, r, "chaos.sre/cordon")
		return m.Renewed.After(first.Renewed)
	})
	require.NoError(t, f.Rollback(ctx))
	assert.False(t, c.unschedulable(t, n))
	time.Sleep(3 * RenewEvery)
	_, ok = c.markOn(t, r, "chaos.sre/cordon")
	assert.False(t, ok, "no renewal brings the mark back after rollback")
}
