package remote

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// TestResolvePeers: each Kubernetes peer form becomes the addresses a
// pod's packets to and from it carry, read from the cluster's objects.
func TestResolvePeers(t *testing.T) {
	cs := kubetest.Client(t)
	ctx := context.Background()
	ns := kubetest.Namespace(t, cs, "chaos-peers")
	kubetest.Deployment(t, cs, ns, "model", 2, kubetest.PausePodSpec(8080))
	pods, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=model"})
	require.NoError(t, err)
	var ips []string
	for _, p := range pods.Items {
		ips = append(ips, p.Status.PodIP)
	}
	svc := func(name string, headless bool) string {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "model"}, Ports: []corev1.ServicePort{{Port: 8000}}}}
		if headless {
			s.Spec.ClusterIP = corev1.ClusterIPNone
		}
		s, err := cs.CoreV1().Services(ns).Create(ctx, s, metav1.CreateOptions{})
		require.NoError(t, err)
		return s.Spec.ClusterIP
	}
	clusterIP := svc("model", false)
	svc("model-headless", true)
	kube, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	require.NoError(t, err)
	apiAddrs := []string{kube.Spec.ClusterIP} // and its endpoints, set by hand (no selector)
	eps, err := cs.DiscoveryV1().EndpointSlices("default").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=kubernetes"})
	require.NoError(t, err)
	for _, s := range eps.Items {
		for _, e := range s.Endpoints {
			apiAddrs = append(apiAddrs, e.Addresses...)
		}
	}

	for _, tc := range []struct {
		name  string
		peers []string
		want  []string
	}{
		{"addresses and CIDRs as they are", []string{"10.1.2.3", " 10.9.0.0/16 ", "10.9.1.2/16"}, []string{"10.1.2.3", "10.9.0.0/16"}},
		{"a service: its cluster IP and its pods", []string{"service/model"}, append([]string{clusterIP}, ips...)},
		{"svc and a namespace", []string{"svc/" + ns + "/model"}, append([]string{clusterIP}, ips...)},
		{"a bare name is a service of the namespace", []string{"model"}, append([]string{clusterIP}, ips...)},
		{"a headless service: its pods", []string{"service/model-headless"}, ips},
		{"a deployment: its pods", []string{"deployment/model"}, ips},
		{"a pod", []string{"pod/" + pods.Items[0].Name}, ips[:1]},
		{"a service of another namespace with no selector: its endpoints", []string{"service/default/kubernetes"}, apiAddrs},
		{"each address once", []string{"deployment/model", "service/model-headless", ips[0]}, ips},
		{"a host name, on this machine", []string{"localhost"}, []string{"127.0.0.1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ResolvePeers(ctx, cs, ns, tc.peers)
			require.NoError(t, err)
			assert.ElementsMatch(t, tc.want, got)
		})
	}

	for _, tc := range []struct {
		peer, want string
		refused    bool
	}{
		{"replicaset/model", "is neither an address nor KIND/NAME", true},
		{"10.0.0.0/33", "is neither an address nor KIND/NAME", true},
		{"service/", "names no object", true},
		{"a/b/c/d", "has too many /", true},
		{"service/nothing", `no Service "nothing" in namespace ` + ns, false},
		{"deployment/nothing", `no deployment "nothing" in namespace ` + ns, false},
		{"pod/" + ns + "/nothing", `no pod "nothing"`, false},
		{"no-such-service.invalid", "this machine's DNS does not resolve it", false},
	} {
		t.Run(tc.peer, func(t *testing.T) {
			_, err := ResolvePeers(ctx, cs, ns, []string{tc.peer})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.refused, errors.Is(err, targets.ErrRefused), "written wrong: invalid; naming nothing now: not")
		})
	}

	// a deployment scaled to zero has no address now
	zero := int32(0)
	d, err := cs.AppsV1().Deployments(ns).Get(ctx, "model", metav1.GetOptions{})
	require.NoError(t, err)
	d.Spec.Replicas = &zero
	_, err = cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)
	kubetest.Eventually(t, "no pod of model", time.Minute, func() bool {
		l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=model"})
		return err == nil && len(l.Items) == 0
	})
	_, err = ResolvePeers(ctx, cs, ns, []string{"deployment/model"})
	assert.ErrorContains(t, err, `peer "deployment/model" has no IPv4 address now`)
	got, err := ResolvePeers(ctx, cs, ns, []string{"service/model"})
	require.NoError(t, err)
	assert.Equal(t, []string{clusterIP}, got, "a service keeps its cluster IP")

	// the parameters sent to the agent: the kind's own, peers resolved
	raw, err := paramsFor(ctx, cs, ns, &netns.DNS{Mode: "timeout", Peers: []string{"service/model"}})
	require.NoError(t, err)
	var params map[string]any
	require.NoError(t, json.Unmarshal(raw, &params))
	assert.Equal(t, map[string]any{"mode": "timeout", "servers": []any{clusterIP}}, params)
}
