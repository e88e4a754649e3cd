package kube

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

func TestPodDeleteDeletesAndTheControllerHeals(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 3)
	ctx := context.Background()
	tgts := c.podTargets(t, "web")[:2]
	env, j, log := runEnv(t, "run-a", tgts...)
	f := &PodDelete{Force: true}
	require.Empty(t, f.Validate())
	require.NoError(t, f.Preflight(ctx, tgts))
	require.NoError(t, f.Inject(ctx, env))
	assert.Len(t, j.Pending(), 2)
	assert.Contains(t, log.String(), "force-deleted pod "+c.ns+"/")
	c.eventually(t, "the two pods replaced", func() bool {
		left := map[string]bool{}
		for _, p := range c.running(t, "web") {
			left[string(p.UID)] = true
		}
		return len(left) == 3 && !left[tgts[0].Kube.PodUID] && !left[tgts[1].Kube.PodUID]
	})
	require.NoError(t, f.Rollback(ctx))
	assert.Empty(t, j.Pending())
}

func TestPodDeleteRefusesABarePodUnlessAllowed(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	p := c.barePod(t, "lonely", node)
	ctx := context.Background()
	tgt := c.podTargets(t, "lonely")
	err := (&PodDelete{}).Preflight(ctx, tgt)
	require.Error(t, err)
	assert.True(t, errors.Is(err, targets.ErrRefused), "an invalid experiment, not a broken tool")
	assert.Contains(t, err.Error(), "has no controller")
	assert.Contains(t, err.Error(), "allow_unmanaged: true")

	env, _, _ := runEnv(t, "run-a", tgt...)
	f := &PodDelete{AllowUnmanaged: true, Grace: new(units.Duration(1e9))}
	require.Empty(t, f.Validate())
	require.NoError(t, f.Preflight(ctx, tgt))
	require.NoError(t, f.Inject(ctx, env))
	c.eventually(t, "the bare pod gone", func() bool { return len(c.running(t, "lonely")) == 0 })
	_ = p
}

func TestPodDeleteLeavesAReplacedPodAlone(t *testing.T) {
	c := newCluster(t)
	node := c.fakeNode(t)
	c.deployment(t, "web", node, 1)
	ctx := context.Background()
	tgt := c.podTargets(t, "web")
	tgt[0].Kube.PodUID = "00000000-0000-0000-0000-000000000000" // resolved before a new pod took its name
	env, _, log := runEnv(t, "run-a", tgt...)
	require.NoError(t, (&PodDelete{Force: true}).Inject(ctx, env))
	assert.Contains(t, log.String(), "left alone (replaced by a new pod of that name")
	assert.Len(t, c.running(t, "web"), 1)
	assert.Equal(t, tgt[0].Kube.Pod, c.running(t, "web")[0].Name, "the pod of that name was not deleted")
}

func TestPodDeleteValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		f    *PodDelete
		want string
	}{
		"grace and force": {&PodDelete{Force: true, Grace: new(units.Duration(5e9))}, "set grace or force"},
		"grace under 1s":  {&PodDelete{Grace: new(units.Duration(5e8))}, "under a second"},
	} {
		t.Run(name, func(t *testing.T) {
			ps := tc.f.Validate()
			require.Len(t, ps, 1)
			assert.Equal(t, "grace", ps[0].Field)
			assert.Contains(t, ps[0].Msg, tc.want)
		})
	}
	assert.Empty(t, (&PodDelete{Grace: new(units.Duration(3e9))}).Validate())
	assert.Equal(t, int64(3), *graceSeconds(new(units.Duration(2500e6)), false), "whole seconds, rounded up")
	assert.Equal(t, int64(0), *graceSeconds(nil, true))
	assert.Nil(t, graceSeconds(nil, false), "the pod's own")
}
