package kube

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

func replicas(n int32) *int32 { return &n }

// injectScale injects a scale to n of tgts under run, in an environment
// and journal of its own.
func injectScale(t *testing.T, run string, n int32, tgts ...targets.Target) (*Scale, faults.Env, *journal.Journal, *faultstest.Buffer) {
	t.Helper()
	env, j, log := runEnv(t, run, tgts...)
	s := &Scale{Replicas: replicas(n)}
	require.NoError(t, s.Inject(context.Background(), env))
	return s, env, j, log
}

func TestScaleSetsTheCountAndRestoresIt(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 3)
	ctx := context.Background()
	// three pod targets of one deployment: it is scaled once
	env, j, log := runEnv(t, "run-a", c.podTargets(t, "web")...)
	s := &Scale{Replicas: replicas(1)}
	require.Empty(t, s.Validate())
	require.NoError(t, s.Preflight(ctx, env.Targets))
	require.NoError(t, s.Inject(ctx, env))

	assert.Equal(t, int32(1), c.replicas(t, "web"))
	r := c.ref(t, deployments, c.ns, "web")
	m, ok := c.markOn(t, r, "chaos.sre/scale")
	require.True(t, ok, "the deployment carries the run's mark")
	assert.Equal(t, "run-a", m.Run)
	assert.Equal(t, "f-run-a", m.Fault)
	assert.Equal(t, "scale", m.Kind)
	assert.JSONEq(t, "3", string(m.Old))
	assert.JSONEq(t, "1", string(m.Set))
	assert.Equal(t, self.Host, m.Host)
	assert.Len(t, j.Pending(), 1, "one journal entry for the one deployment")
	assert.Contains(t, log.String(), "deployment "+c.ns+"/web: replicas 3 → 1")
	c.eventually(t, "one pod of web left", func() bool { return len(c.running(t, "web")) == 1 })

	require.NoError(t, s.Rollback(ctx))
	assert.Equal(t, int32(3), c.replicas(t, "web"))
	_, ok = c.markOn(t, r, "chaos.sre/scale")
	assert.False(t, ok, "the mark goes with the undo")
	assert.Empty(t, j.Pending())
	require.NoError(t, s.Rollback(ctx), "rollback is idempotent")
	c.eventually(t, "three pods of web again", func() bool { return len(c.running(t, "web")) == 3 })
}

func TestScaleLeavesACountSomeoneElseChanged(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "api", node, 2)
	ctx := context.Background()
	s, _, j, log := injectScale(t, "run-a", 0, c.workloadTarget("api"))
	require.Equal(t, int32(0), c.replicas(t, "api"))

	// an operator scales it during the window
	_, err := c.cs.AppsV1().Deployments(c.ns).Patch(ctx, "api", types.MergePatchType, []byte(`{"spec":{"replicas":5}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	require.NoError(t, s.Rollback(ctx), "someone else's change is reported, not an error of the rollback")
	assert.Equal(t, int32(5), c.replicas(t, "api"), "their count is kept")
	_, ok := c.markOn(t, c.ref(t, deployments, c.ns, "api"), "chaos.sre/scale")
	assert.False(t, ok, "the run's mark is removed all the same")
	assert.Contains(t, log.String(), "replicas of deployment "+c.ns+"/api is 5, not the 0 the run set: someone else changed it")
	assert.Empty(t, j.Pending())
}

func TestScaleRefusesADeploymentAnotherRunHolds(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 2)
	ctx := context.Background()
	a, _, _, _ := injectScale(t, "run-a", 1, c.workloadTarget("web"))
	t.Cleanup(func() { _ = a.Rollback(context.Background()) })

	envB, jB, _ := runEnv(t, "run-b", c.workloadTarget("web"))
	b := &Scale{Replicas: replicas(0)}
	var inUse *InUseError
	err := b.Preflight(ctx, envB.Targets)
	require.ErrorAs(t, err, &inUse, "preflight refuses before anything is injected")
	assert.False(t, inUse.Stale)
	assert.Contains(t, err.Error(), "is in use by run run-a")
	err = b.Inject(ctx, envB)
	require.ErrorAs(t, err, &inUse, "and so does inject, should the mark appear after preflight")
	assert.Equal(t, int32(1), c.replicas(t, "web"), "run B changed nothing")
	assert.Empty(t, jB.Pending(), "nor journaled anything")

	require.NoError(t, a.Rollback(ctx))
	assert.Equal(t, int32(2), c.replicas(t, "web"))
	require.NoError(t, b.Preflight(ctx, envB.Targets), "once A is done, B may")
}

func TestAStaleMarkSaysRecover(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 1)
	ctx := context.Background()
	m := newMark("dead-run", "gone", "scale")
	m.Host, m.Renewed = "laptop-elsewhere", time.Now().Add(-10*time.Minute).UTC()
	m.Old, m.Set = jsonOf(1), jsonOf(0)
	body, _ := jsonMerge(map[string]any{"metadata": map[string]any{"annotations": map[string]string{"chaos.sre/scale": m.encode()}}})
	_, err := c.cs.AppsV1().Deployments(c.ns).Patch(ctx, "web", types.MergePatchType, body, metav1.PatchOptions{})
	require.NoError(t, err)

	err = (&Scale{Replicas: replicas(0)}).Preflight(ctx, []targets.Target{c.workloadTarget("web")})
	var inUse *InUseError
	require.True(t, errors.As(err, &inUse), "%v", err)
	assert.True(t, inUse.Stale)
	assert.Contains(t, err.Error(), "run `chaos recover --kubernetes` first")
}

func TestScaleOfAPodWithNoWorkloadSaysWhy(t *testing.T) {
	err := (&Scale{Replicas: replicas(0)}).Preflight(context.Background(), []targets.Target{{Name: "p", Kube: &targets.Kube{Namespace: "ns", Pod: "p"}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "belongs to no Deployment or StatefulSet")
}
