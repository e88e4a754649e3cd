package targets

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// These tests need no cluster: what makes a pod a target and its address.
// The resolver itself is tested against the real test cluster
// (kube_cluster_test.go).

func TestNotLive(t *testing.T) {
	now := metav1.NewTime(time.Now())
	tests := []struct {
		name string
		pod  corev1.Pod
		want string
	}{
		{"running", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning}}, ""},
		{"pending is a target (a scale or delete fault may still want it)", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodPending}}, ""},
		{"terminating", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}, "Terminating"},
		{"succeeded", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, "Succeeded"},
		{"failed", corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}, "Failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, notLive(tc.pod)) })
	}
}

func TestPodAddr(t *testing.T) {
	pod := func(ip string, cs ...corev1.Container) corev1.Pod {
		return corev1.Pod{Spec: corev1.PodSpec{Containers: cs}, Status: corev1.PodStatus{PodIP: ip}}
	}
	ports := func(ps ...corev1.ContainerPort) corev1.Container { return corev1.Container{Ports: ps} }
	assert.Equal(t, "10.1.0.5:8080", podAddr(pod("10.1.0.5", ports(corev1.ContainerPort{ContainerPort: 8080}, corev1.ContainerPort{ContainerPort: 9090}))))
	assert.Equal(t, "10.1.0.5:9000", podAddr(pod("10.1.0.5", ports(), ports(corev1.ContainerPort{ContainerPort: 53, Protocol: corev1.ProtocolUDP}, corev1.ContainerPort{ContainerPort: 9000}))), "the first TCP port of any container")
	assert.Equal(t, "[fd00::5]:80", podAddr(pod("fd00::5", ports(corev1.ContainerPort{ContainerPort: 80}))))
	assert.Empty(t, podAddr(pod("10.1.0.5", ports())), "no port: no host:port")
	assert.Empty(t, podAddr(pod("", ports(corev1.ContainerPort{ContainerPort: 80}))), "no IP yet")
}

func TestIsKube(t *testing.T) {
	for _, s := range []Spec{{Pod: "p"}, {Deployment: "d"}, {StatefulSet: "s"}, {Service: "svc"}, {Labels: map[string]string{"a": "b"}}, {Namespace: "n"}, {Node: "n"}} {
		assert.True(t, IsKube(s), "%+v", s)
	}
	for _, s := range []Spec{{URL: "http://x/"}, {Proxy: "r"}, {Process: "p"}, {Pid: 4}, {Container: "c"}} {
		assert.False(t, IsKube(s), "%+v", s)
	}
}

// TestKubernetesFallback: specs a cluster does not have go to the fallback,
// without a call to the API (none is set here).
func TestKubernetesFallback(t *testing.T) {
	k := &Kubernetes{Fallback: &Static{}}
	ts, err := k.Resolve(context.Background(), Spec{URL: "http://x/"})
	require.NoError(t, err)
	assert.Equal(t, "http://x/", ts[0].URL)
	_, err = (&Kubernetes{}).Resolve(context.Background(), Spec{URL: "http://x/"})
	assert.ErrorContains(t, err, "valid: one of pod, deployment, statefulset, service, labels, namespace, node")
	_, err = k.Pods(context.Background(), Spec{Node: "n"})
	assert.ErrorContains(t, err, `target node "n" selects no pods`)
	assert.Equal(t, "default", k.DefaultNamespace())
}
