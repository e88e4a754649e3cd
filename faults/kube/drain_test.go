package kube

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/internal/units"
)

// daemonSet makes a DaemonSet with one pod on node.
func (c *testCluster) daemonSet(t *testing.T, name, node string) {
	t.Helper()
	labels := map[string]string{"app": name}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: c.ns},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec(node)}}}
	_, err := c.cs.AppsV1().DaemonSets(c.ns).Create(context.Background(), ds, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, "the pod of "+name+" running", func() bool { return len(c.running(t, name)) == 1 })
}

func TestNodeDrainEvictsAndUncordons(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 3)
	c.daemonSet(t, "agent", node)
	ctx := context.Background()
	before := c.running(t, "web")
	agent := c.running(t, "agent")[0]
	env, j, log := runEnv(t, "run-a", c.nodeTarget(node))
	f := &NodeDrain{Timeout: units.Duration(5 * time.Second)}
	require.Empty(t, f.Validate())
	require.NoError(t, f.Preflight(ctx, env.Targets))
	require.NoError(t, f.Inject(ctx, env))

	assert.True(t, c.unschedulable(t, node))
	m, ok := c.markOn(t, c.ref(t, nodes, "", node), "chaos.sre/node-drain")
	require.True(t, ok)
	assert.Equal(t, "node-drain", m.Kind)
	assert.Len(t, j.Pending(), 4, "the cordon and three evictions")
	for _, p := range before {
		assert.Contains(t, log.String(), "evicted pod "+c.ns+"/"+p.Name)
	}
	c.eventually(t, "the evicted pods gone (their replacements pending: the node is cordoned)", func() bool { return len(c.running(t, "web")) == 0 })
	require.Len(t, c.running(t, "agent"), 1)
	assert.Equal(t, agent.UID, c.running(t, "agent")[0].UID, "the DaemonSet's pod stays")

	require.NoError(t, f.Rollback(ctx))
	assert.False(t, c.unschedulable(t, node))
	_, ok = c.markOn(t, c.ref(t, nodes, "", node), "chaos.sre/node-drain")
	assert.False(t, ok)
	assert.Empty(t, j.Pending())
	c.eventually(t, "web back on the uncordoned node", func() bool { return len(c.running(t, "web")) == 3 })
}

func TestNodeDrainHonoursABudgetAndForceOverridesIt(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "db", node, 2)
	c.pdb(t, "db", 2) // no disruption allowed
	ctx := context.Background()

	env, _, log := runEnv(t, "run-a", c.nodeTarget(node))
	f := &NodeDrain{Timeout: units.Duration(2 * time.Second)}
	start := time.Now()
	require.NoError(t, f.Inject(ctx, env), "a budget that holds is evidence, not a failure to inject")
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "blocked evictions are tried until the timeout")
	assert.Contains(t, log.String(), "left running (its PodDisruptionBudget allowed no eviction for 2s")
	assert.Len(t, c.running(t, "db"), 2, "the budget held")
	require.NoError(t, f.Rollback(ctx))
	assert.False(t, c.unschedulable(t, node))

	env, _, log = runEnv(t, "run-b", c.nodeTarget(node))
	forced := &NodeDrain{Timeout: units.Duration(time.Second), Force: true}
	require.NoError(t, forced.Inject(ctx, env))
	assert.Contains(t, log.String(), "(its PodDisruptionBudget blocked the eviction; force)")
	c.eventually(t, "db deleted despite its budget", func() bool { return len(c.running(t, "db")) == 0 })
	require.NoError(t, forced.Rollback(ctx))
}

func TestNodeDrainRefusesANodeWithABarePod(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.barePod(t, "lonely", node)
	ctx := context.Background()
	env, j, _ := runEnv(t, "run-a", c.nodeTarget(node))
	f := &NodeDrain{}
	err := f.Preflight(ctx, env.Targets)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pod "+c.ns+"/lonely has no controller")
	require.Error(t, f.Inject(ctx, env))
	assert.False(t, c.unschedulable(t, node), "refused before the cordon")
	assert.Empty(t, j.Pending())
	assert.Len(t, c.running(t, "lonely"), 1)
}
