package kube

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
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

// killerImage builds the test image of container-kill (testdata/killer as
// its main process and as /bin/kill, FROM scratch: nothing pulled) and
// loads it into the test cluster's node.
func killerImage(t *testing.T) string {
	t.Helper()
	const image = "chaos-test/killer:1"
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "killer"), "./testdata/killer")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build killer: %v\n%s", err, out)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY killer /bin/kill\nCOPY killer /app\nENTRYPOINT [\"/app\"]\n"), 0o644))
	if out, err := exec.Command("docker", "build", "-q", "-t", image, dir).CombinedOutput(); err != nil {
		t.Skipf("docker build of the test image: %v\n%s", err, out)
	}
	if out, err := exec.Command("../../examples/kubernetes/cluster.sh", "load-image", image).CombinedOutput(); err != nil {
		t.Fatalf("load %s into the test cluster: %v\n%s", image, err, out)
	}
	return image
}

// TestContainerKillSignalsAndTheKubeletRestarts: on the real node, the
// container's main process gets TERM and the kubelet restarts it; a
// signal it ignores (HUP) is an error that says so.
func TestContainerKillSignalsAndTheKubeletRestarts(t *testing.T) {
	c := newCluster(t)
	image := killerImage(t)
	ctx := context.Background()
	n := int32(2)
	labels := map[string]string{"app": "killer"}
	zero := int64(0)
	_, err := c.cs.AppsV1().Deployments(c.ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "killer", Namespace: c.ns},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				NodeSelector:                  map[string]string{"kubernetes.io/hostname": "chaos-k8s-node"},
				Containers:                    []corev1.Container{{Name: "app", Image: image, ImagePullPolicy: corev1.PullNever}},
				TerminationGracePeriodSeconds: &zero}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.eventually(t, "two killer pods running", func() bool { return len(c.running(t, "killer")) == 2 })
	tgts := c.podTargets(t, "killer")
	for i := range tgts {
		tgts[i].Kube.Containers = []string{"app"}
	}

	env, j, log := runEnv(t, "run-a", tgts...)
	k := &ContainerKill{Signal: "TERM", Wait: units.Duration(60 * time.Second)}
	require.Empty(t, k.Validate())
	require.NoError(t, k.Preflight(ctx, tgts))
	require.NoError(t, k.Inject(ctx, env))
	assert.Len(t, j.Pending(), 2)
	for _, tg := range tgts {
		assert.Contains(t, log.String(), "SIGTERM to container app of pod "+tg.Kube.Namespace+"/"+tg.Kube.Pod+": restarted (restart 1)")
		p, err := c.cs.CoreV1().Pods(c.ns).Get(ctx, tg.Kube.Pod, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, tg.Kube.PodUID, string(p.UID), "the pod is the same; its container was restarted")
		assert.Equal(t, int32(1), p.Status.ContainerStatuses[0].RestartCount)
	}
	require.NoError(t, k.Rollback(ctx))
	assert.Empty(t, j.Pending())

	env, _, _ = runEnv(t, "run-b", tgts[0])
	ignored := &ContainerKill{Signal: "HUP", Wait: units.Duration(2 * time.Second)}
	err = ignored.Inject(ctx, env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was not restarted within 2s of SIGHUP: its main process ignores the signal")
}
