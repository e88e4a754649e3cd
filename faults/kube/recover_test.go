package kube

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
)

// TestJournalUndoersRestoreAfterACrash: a run scales and cordons, then
// dies (its Fault values and live undo closures gone, no Rollback); the
// offline undoers, from its journal alone, restore both.
func TestJournalUndoersRestoreAfterACrash(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 3)
	ctx := context.Background()
	s, env, j, _ := injectScale(t, "crashed", 0, c.podTargets(t, "web")...)
	co := &Cordon{}
	require.NoError(t, co.Inject(ctx, env))
	s.renew.stop() // the process died: nothing renews
	co.renew.stop()
	require.Equal(t, int32(0), c.replicas(t, "web"))
	require.True(t, c.unschedulable(t, node))

	pending := j.Pending()
	require.Len(t, pending, 2)
	for _, e := range pending {
		faults.Forget(e)
		require.NoError(t, faults.Undo(ctx, e, Undoers), "%s", e.Action)
	}
	assert.Equal(t, int32(3), c.replicas(t, "web"))
	assert.False(t, c.unschedulable(t, node))
	assert.Empty(t, c.annotations(t, c.ref(t, nodes, "", node))["chaos.sre/cordon"])
	for _, e := range pending {
		require.NoError(t, faults.Undo(ctx, e, Undoers), "undoing twice is harmless")
	}
}

// TestAnUndoerActsOnlyOnItsOwnObject: an entry whose lease key does not name
// its object, or whose object was recreated, changes nothing.
func TestAnUndoerActsOnlyOnItsOwnObject(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 2)
	ctx := context.Background()
	s, _, j, _ := injectScale(t, "crashed", 1, c.workloadTarget("web"))
	s.renew.stop()
	e := j.Pending()[0]
	faults.Forget(e)

	forged := e
	forged.Key = "kube:https://elsewhere:6443/namespaces/x/deployments/web"
	err := faults.Undo(ctx, forged, Undoers)
	assert.True(t, faults.IsNotSame(err), "%v", err)
	wrongUID := e
	r, _ := faults.Decode[Ref](e)
	r.UID = "00000000-0000-0000-0000-000000000000"
	wrongUID.Data = jsonOf(r)
	err = faults.Undo(ctx, wrongUID, Undoers)
	assert.True(t, faults.IsNotSame(err), "%v", err)
	assert.Equal(t, int32(1), c.replicas(t, "web"), "nothing done")

	require.NoError(t, faults.Undo(ctx, e, Undoers))
	assert.Equal(t, int32(2), c.replicas(t, "web"))
}

// TestScanFindsMarksAndUndoesThemWithoutAJournal: a recover from another
// machine has only the marks on the objects.
func TestScanFindsMarksAndUndoesThemWithoutAJournal(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 3)
	c.deployment(t, "api", node, 2)
	ctx := context.Background()
	s, env, _, _ := injectScale(t, "lost", 1, c.workloadTarget("web"), c.workloadTarget("api"))
	co := &Cordon{}
	nodeEnv := env
	nodeEnv.Targets = []targets.Target{c.nodeTarget(node)}
	require.NoError(t, co.Inject(ctx, nodeEnv))
	s.renew.stop()
	co.renew.stop()
	// someone scales api during the window: recover keeps their count
	_, err := c.cs.AppsV1().Deployments(c.ns).Patch(ctx, "api", types.MergePatchType, []byte(`{"spec":{"replicas":4}}`), metav1.PatchOptions{})
	require.NoError(t, err)

	found, err := Scan(ctx, c.cluster)
	require.NoError(t, err)
	var ours []Found
	for _, f := range found {
		if f.Mark.Run == "lost" {
			ours = append(ours, f)
		}
	}
	require.Len(t, ours, 3, "two deployments and the node")
	for _, f := range ours {
		assert.NoError(t, f.Err)
		assert.Equal(t, self.Host, f.Mark.Host)
		assert.WithinDuration(t, time.Now(), f.Mark.Renewed, time.Minute)
		err := f.Undo(ctx)
		var changed *ChangedError
		if f.Ref.Name == "api" {
			require.ErrorAs(t, err, &changed)
			assert.True(t, faults.IsNotSame(err))
			assert.Contains(t, f.String(), "scale on deployment "+c.ns+"/api by run lost")
		} else {
			assert.NoError(t, err, f.String())
		}
	}
	assert.Equal(t, int32(3), c.replicas(t, "web"))
	assert.Equal(t, int32(4), c.replicas(t, "api"))
	assert.False(t, c.unschedulable(t, node))
	found, err = Scan(ctx, c.cluster)
	require.NoError(t, err)
	for _, f := range found {
		assert.NotEqual(t, "lost", f.Mark.Run, "every mark of the run is gone: %s", f)
	}
}
