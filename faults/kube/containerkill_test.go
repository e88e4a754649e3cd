package kube

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/targets"
)

func TestContainerKillValidates(t *testing.T) {
	for name, tc := range map[string]struct {
		signal, want string
	}{
		"KILL never reaches pid 1 from inside": {"KILL", "the kernel spares pid 1"},
		"nor STOP":                             {"SIGSTOP", "pod-delete with force"},
		"unknown":                              {"BOOM", `unknown signal "BOOM"`},
	} {
		t.Run(name, func(t *testing.T) {
			ps := (&ContainerKill{Signal: tc.signal}).Validate()
			require.Len(t, ps, 1)
			assert.Equal(t, "signal", ps[0].Field)
			assert.Contains(t, ps[0].Msg, tc.want)
		})
	}
	assert.Empty(t, (&ContainerKill{Signal: "sigquit"}).Validate())
}

func TestContainerKillNamesItsContainer(t *testing.T) {
	pod := targets.Target{Name: "p", Kube: &targets.Kube{Cluster: offlineCluster(t), Namespace: "ns", Pod: "p", Containers: []string{"app", "sidecar"}}}
	_, err := (&ContainerKill{Container: "db"}).victims([]targets.Target{pod})
	assert.ErrorContains(t, err, `pod ns/p has no container "db" (valid: app, sidecar)`)
	vs, err := (&ContainerKill{}).victims([]targets.Target{pod})
	require.NoError(t, err)
	assert.Equal(t, "app", vs[0].container, "the first by default")
}

// TestContainerKillSaysWhatIsMissing: on a kwok node there is no kubelet
// to exec in; in the pause image there is no kill command. Each is said
// before anything is injected.
func TestContainerKillSaysWhatIsMissing(t *testing.T) {
	c := newCluster(t)
	ctx := context.Background()
	node := c.fakeNode(t)
	c.deployment(t, "fake", node, 1)
	fake := c.podTargets(t, "fake")
	fake[0].Kube.Containers = []string{"app"}
	err := (&ContainerKill{Signal: "TERM"}).Preflight(ctx, fake)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "cannot run kill in container app of pod "+c.ns+"/")
	assert.Contains(t, err.Error(), "through pods/exec")

	zero := int64(0)
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "pause", Namespace: c.ns, Labels: map[string]string{"app": "pause"},
		OwnerReferences: nil},
		Spec: corev1.PodSpec{NodeSelector: map[string]string{"kubernetes.io/hostname": "chaos-k8s-node"},
			Containers:                    []corev1.Container{{Name: "pause", Image: "chaos-k8s/pause:1", ImagePullPolicy: corev1.PullNever}},
			TerminationGracePeriodSeconds: &zero}}
	_, err = c.cs.CoreV1().Pods(c.ns).Create(ctx, p, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, "the pause pod running on the real node", func() bool { return len(c.running(t, "pause")) == 1 })
	real := c.podTargets(t, "pause")
	real[0].Kube.Containers = []string{"pause"}
	err = (&ContainerKill{Signal: "TERM"}).Preflight(ctx, real)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "container pause of pod "+c.ns+"/pause has no kill command")
}
