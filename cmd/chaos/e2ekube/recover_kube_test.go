package e2ekube

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

func TestRecoverKubernetesFlagsGoWithIt(t *testing.T) {
	code, _, stderr := chaos(t, "recover", "--state-dir", t.TempDir(), "--force")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--force goes with --kubernetes")
}

// TestRecoverKubernetesFromMarksAlone: no journal anywhere, only the marks
// dead runs left on deployments. recover --kubernetes undoes those whose
// run is dead (another host's, not renewed for longer than --stale; this
// host's, its process gone), leaves a live one alone until --force, and
// keeps a count someone else changed.
func TestRecoverKubernetesFromMarksAlone(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ctx := context.Background()
	ns := kubetest.Namespace(t, cs, "chaos-recover")
	host, _ := os.Hostname()
	run := fmt.Sprintf("gone-%06x", rand.Uint32()&0xffffff)
	// name → the count now, the mark's old and set counts, its host, pid, age
	marked := map[string]struct {
		now, old, set int32
		host          string
		pid           int
		age           time.Duration
	}{
		"elsewhere-dead":  {now: 0, old: 3, set: 0, host: "laptop-elsewhere", pid: 4242, age: 10 * time.Minute},
		"elsewhere-fresh": {now: 1, old: 2, set: 1, host: "laptop-elsewhere", pid: 4242, age: 0},
		"here-dead":       {now: 0, old: 2, set: 0, host: host, pid: deadPid(t), age: 0},
		"changed":         {now: 5, old: 3, set: 0, host: "laptop-elsewhere", pid: 4242, age: 10 * time.Minute},
	}
	for name, m := range marked {
		mark := kube.Mark{Run: run, Fault: "f-" + name, Kind: "scale", Old: jsonInt(m.old), Set: jsonInt(m.set),
			Host: m.host, Pid: m.pid, PidStart: 1, Renewed: time.Now().Add(-m.age).UTC()}
		markedDeployment(t, cs, ns, name, m.now, mark)
	}
	replicas := func(name string) int32 {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		return *d.Spec.Replicas
	}
	hasMark := func(name string) bool {
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		_, ok := d.Annotations[kube.Prefix+"scale"]
		return ok
	}

	state := t.TempDir()
	code, out, stderr := chaos(t, "recover", "--state-dir", state, "--kubernetes", "--kubeconfig", kc, "--run", run)
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "undid scale on deployment "+ns+"/elsewhere-dead by run "+run)
	assert.Regexp(t, "undid scale on deployment "+ns+"/elsewhere-dead by run "+run+` \(fault "f-elsewhere-dead", host laptop-elsewhere, pid 4242, renewed 10m[0-9]+s ago\): replicas back to 3\n`, out)
	assert.Contains(t, out, "undid scale on deployment "+ns+"/here-dead")
	assert.Contains(t, out, "left scale on deployment "+ns+"/elsewhere-fresh")
	assert.Contains(t, out, "(replicas set to 1): run "+run+" of host laptop-elsewhere renewed it")
	assert.Contains(t, out, "--force undoes it anyway")
	assert.Contains(t, out, "skipped scale on deployment "+ns+"/changed")
	assert.Contains(t, out, "is 5, not the 0 the run set: someone else changed it")
	assert.Equal(t, int32(3), replicas("elsewhere-dead"))
	assert.Equal(t, int32(2), replicas("here-dead"), "this host's run is dead: its pid no longer runs")
	assert.Equal(t, int32(1), replicas("elsewhere-fresh"), "a run renewed a moment ago may be alive")
	assert.True(t, hasMark("elsewhere-fresh"))
	assert.Equal(t, int32(5), replicas("changed"), "someone else's count is kept")
	for _, name := range []string{"elsewhere-dead", "here-dead", "changed"} {
		assert.False(t, hasMark(name), name)
	}

	code, out, stderr = chaos(t, "recover", "--state-dir", state, "--kubernetes", "--kubeconfig", kc, "--run", run, "--force")
	require.Equal(t, 0, code, "%s\n%s", out, stderr)
	assert.Contains(t, out, "undid scale on deployment "+ns+"/elsewhere-fresh")
	assert.Equal(t, int32(2), replicas("elsewhere-fresh"))
	assert.False(t, hasMark("elsewhere-fresh"))

	code, out, _ = chaos(t, "recover", "--state-dir", state, "--kubernetes", "--kubeconfig", kc, "--run", run)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "nothing left to undo (0 undone, 0 skipped, 0 live run(s) left alone")
}

// TestRecoverKubernetesFailsOnAMarkItCannotRead: exit 4, the mark left.
func TestRecoverKubernetesFailsOnAMarkItCannotRead(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-recover")
	run := fmt.Sprintf("future-%06x", rand.Uint32()&0xffffff)
	markedDeployment(t, cs, ns, "w", 1, kube.Mark{Run: run, Fault: "f", Kind: "warp", Host: "elsewhere", Renewed: time.Now().Add(-time.Hour)})
	code, out, stderr := chaos(t, "recover", "--state-dir", t.TempDir(), "--kubernetes", "--kubeconfig", kc, "--run", run)
	assert.Equal(t, 4, code, out)
	assert.Contains(t, stderr, `of kind "warp" is not one this chaos knows`)
}

// markedDeployment makes deployment name of ns, with n replicas that no
// node runs (a node selector no node matches), carrying mark as a dead
// run's fault of mark.Kind would have left it.
func markedDeployment(t *testing.T, cs kubernetes.Interface, ns, name string, n int32, mark kube.Mark) {
	t.Helper()
	b, err := json.Marshal(mark)
	require.NoError(t, err)
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{kube.Prefix + mark.Kind: string(b)}},
		Spec: appsv1.DeploymentSpec{Replicas: &n, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"kubernetes.io/hostname": "no-such-node"},
				Containers:   []corev1.Container{{Name: "app", Image: "fake/app:1"}}}}},
	}
	_, err = cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{})
	require.NoError(t, err)
}

func jsonInt(n int32) json.RawMessage { return json.RawMessage(fmt.Sprint(n)) }

// deadPid is the pid of a process that ran and is gone.
func deadPid(t *testing.T) int {
	t.Helper()
	p, err := os.StartProcess("/bin/true", []string{"true"}, &os.ProcAttr{})
	require.NoError(t, err)
	_, err = p.Wait()
	require.NoError(t, err)
	return p.Pid
}
