package targets_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// kubeWorld is a namespace of the real test cluster with, on a kwok node of
// its own: Deployment model (3 pods), StatefulSet db (2), Deployment empty
// (0), a pod that carries model's labels but no owner (stray), a pod of
// its own (lonely), a pod held Terminating by a finalizer (held), Service
// model (selects app=model) and Service manual (no selector).
type kubeWorld struct {
	cs   kubernetes.Interface
	ns   string
	node string
	k    *targets.Kubernetes
}

func newKubeWorld(t *testing.T) *kubeWorld {
	t.Helper()
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	w := &kubeWorld{cs: cs, ns: kubetest.Namespace(t, cs, "chaos-targets"), node: kubetest.FakeNode(t, cs)}
	w.k = &targets.Kubernetes{API: cs, Cluster: targets.Cluster{Kubeconfig: kc}, Namespace: w.ns, Fallback: &targets.Static{}}
	ctx := context.Background()
	spec := kubetest.FakePodSpec(w.node)
	kubetest.Deployment(t, cs, w.ns, "model", 3, spec)
	kubetest.Deployment(t, cs, w.ns, "empty", 0, spec)

	two := int32(2)
	db := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: w.ns},
		Spec: appsv1.StatefulSetSpec{Replicas: &two, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			PodManagementPolicy: appsv1.ParallelPodManagement,
			Template:            corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: spec}}}
	_, err := cs.AppsV1().StatefulSets(w.ns).Create(ctx, db, metav1.CreateOptions{})
	require.NoError(t, err)
	kubetest.WaitReady(t, cs, w.ns, "app=db", 2)

	for name, labels := range map[string]map[string]string{"stray": {"app": "model"}, "lonely": {"tier": "x"}} {
		_, err := cs.CoreV1().Pods(w.ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Spec: spec}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	kubetest.WaitReady(t, cs, w.ns, "tier=x", 1)

	// held: never scheduled (no node has its label), deleted, kept by a finalizer
	heldSpec := spec
	heldSpec.NodeSelector = map[string]string{"chaos-test": "nowhere"}
	_, err = cs.CoreV1().Pods(w.ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "held", Labels: map[string]string{"hold": "yes"}, Finalizers: []string{"chaos.test/hold"}}, Spec: heldSpec}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { // before the namespace goes: it would wait for the finalizer
		_, _ = cs.CoreV1().Pods(w.ns).Patch(context.Background(), "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
	})
	require.NoError(t, cs.CoreV1().Pods(w.ns).Delete(ctx, "held", metav1.DeleteOptions{}))

	for _, s := range []*corev1.Service{
		{ObjectMeta: metav1.ObjectMeta{Name: "model"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "model"}, Ports: []corev1.ServicePort{{Port: 80}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "manual"}, Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}},
	} {
		_, err := cs.CoreV1().Services(w.ns).Create(ctx, s, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	return w
}

func names(ts []targets.Target) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TestKubernetesResolve resolves every selector against the real cluster:
// the pods each names (sorted, live, with workload, node and address), a
// workload without pods, a node, refusals of guesses, and errors that list
// what does exist.
func TestKubernetesResolve(t *testing.T) {
	w := newKubeWorld(t)
	ctx := context.Background()
	resolve := func(t *testing.T, spec targets.Spec) []targets.Target {
		t.Helper()
		ts, err := w.k.Resolve(ctx, spec)
		require.NoError(t, err)
		return ts
	}

	t.Run("deployment: its pods through the ReplicaSet, not the stray with its labels", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Deployment: "model"})
		require.Len(t, ts, 3)
		for i, x := range ts {
			assert.True(t, strings.HasPrefix(x.Name, "model-"), x.Name)
			assert.Equal(t, x.Name, x.Kube.Pod)
			assert.NotEmpty(t, x.Kube.PodUID)
			assert.Equal(t, "Deployment", x.Kube.OwnerKind)
			assert.Equal(t, "model", x.Kube.Owner)
			assert.Equal(t, w.node, x.Kube.Node)
			assert.Equal(t, w.ns, x.Kube.Namespace)
			assert.Equal(t, []string{"app"}, x.Kube.Containers)
			assert.Equal(t, w.k.Cluster, x.Kube.Cluster)
			if assert.NotEmpty(t, x.Kube.IP) {
				assert.Equal(t, x.Kube.IP+":8080", x.Addr)
			}
			if i > 0 {
				assert.Less(t, ts[i-1].Name, x.Name, "sorted, so a seeded pick repeats")
			}
		}
	})
	t.Run("statefulset", func(t *testing.T) {
		ts := resolve(t, targets.Spec{StatefulSet: "db"})
		assert.Equal(t, []string{"db-0", "db-1"}, names(ts))
		assert.Equal(t, "StatefulSet", ts[0].Kube.OwnerKind)
		assert.Equal(t, "db", ts[0].Kube.Owner)
	})
	t.Run("a workload with no pods is the workload", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Deployment: "empty"})
		require.Len(t, ts, 1)
		assert.Equal(t, "deployment/empty", ts[0].Name)
		assert.Equal(t, targets.Kube{Cluster: w.k.Cluster, Namespace: w.ns, OwnerKind: "Deployment", Owner: "empty"}, *ts[0].Kube)
	})
	t.Run("service: the pods its selector picks, each with its owner", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Service: "model"})
		require.Len(t, ts, 4)
		owners := map[string]string{}
		for _, x := range ts {
			assert.Equal(t, "model", x.Service)
			owners[x.Name] = x.Kube.OwnerKind + "/" + x.Kube.Owner
		}
		assert.Equal(t, "/", owners["stray"], "a bare pod has no owner")
		assert.Equal(t, "Deployment/model", owners[ts[0].Name])
	})
	t.Run("labels: one match", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Labels: map[string]string{"tier": "x"}})
		assert.Equal(t, []string{"lonely"}, names(ts))
		assert.NotEmpty(t, ts[0].Addr, "declares port 8080")
	})
	t.Run("labels: several with a pick", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Labels: map[string]string{"app": "model"}, Pick: "2"})
		assert.Len(t, ts, 4, "every match: the engine picks")
		a, err := targets.Pick(ts, "one", rand.New(rand.NewPCG(3, 3)))
		require.NoError(t, err)
		b, _ := targets.Pick(ts, "one", rand.New(rand.NewPCG(3, 3)))
		assert.Equal(t, names(a), names(b), "a seeded pick repeats")
		half, err := targets.Pick(ts, "50%", rand.New(rand.NewPCG(3, 3)))
		require.NoError(t, err)
		assert.Len(t, half, 2)
	})
	t.Run("pod", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Pod: "lonely", Namespace: w.ns})
		assert.Equal(t, []string{"lonely"}, names(ts))
	})
	t.Run("namespace alone, with a pick: every live pod", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Namespace: w.ns, Pick: "all"})
		assert.Len(t, ts, 3+2+2, "model, db, stray and lonely; not held")
		assert.NotContains(t, names(ts), "held")
	})
	t.Run("node", func(t *testing.T) {
		ts := resolve(t, targets.Spec{Node: w.node})
		require.Len(t, ts, 1)
		assert.Equal(t, "node/"+w.node, ts[0].Name)
		assert.Equal(t, w.node, ts[0].Kube.Node)
		assert.Empty(t, ts[0].Kube.Pod)
	})
	t.Run("url goes to the fallback", func(t *testing.T) {
		ts := resolve(t, targets.Spec{URL: "http://x/"})
		assert.Equal(t, "http://x/", ts[0].URL)
	})

	errs := []struct {
		name    string
		spec    targets.Spec
		want    string
		refused bool
	}{
		{"labels matching several need a pick", targets.Spec{Labels: map[string]string{"app": "model"}},
			`target labels app=model in namespace "` + w.ns + `" matches 4 pods (`, true},
		{"a namespace of several pods needs a pick", targets.Spec{Namespace: w.ns}, `target namespace "` + w.ns + `" matches 7 pods`, true},
		{"a typo lists the deployments", targets.Spec{Deployment: "modle"},
			`target deployment "modle" in namespace "` + w.ns + `": no such deployment (deployments found in namespace "` + w.ns + `": empty, model)`, false},
		{"a typo lists the statefulsets", targets.Spec{StatefulSet: "bd"}, `no such statefulset (statefulsets found in namespace "` + w.ns + `": db)`, false},
		{"a typo lists the pods", targets.Spec{Pod: "lonley"}, `target pod "lonley" in namespace "` + w.ns + `": no such pod (pods found in namespace "` + w.ns + `": db-0, db-1, held, lonely, model-`, false},
		{"a typo lists the services", targets.Spec{Service: "modle"}, `no such service (services found in namespace "` + w.ns + `": manual, model)`, false},
		{"a typo lists the nodes", targets.Spec{Node: "chaos-no-such-node"}, `target node "chaos-no-such-node": no such node (nodes found: `, false},
		{"a service without a selector", targets.Spec{Service: "manual"}, "has no pod selector", false},
		{"labels matching nothing", targets.Spec{Labels: map[string]string{"app": "none"}}, `target labels app=none in namespace "` + w.ns + `" matches no pod (pods found in namespace`, false},
		{"a terminating pod", targets.Spec{Pod: "held"}, `target pod "held" in namespace "` + w.ns + `" matches no running pod (found, not running: held (Terminating))`, false},
		{"another namespace", targets.Spec{Deployment: "model", Namespace: "chaos-no-such-ns"}, `no such deployment (namespace "chaos-no-such-ns" does not exist (namespaces found: `, false},
		{"a namespace that does not exist", targets.Spec{Namespace: "chaos-no-such-ns"}, `target namespace "chaos-no-such-ns": namespace "chaos-no-such-ns" does not exist`, false},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := w.k.Resolve(ctx, tc.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Equal(t, tc.refused, errors.Is(err, targets.ErrRefused), "%v", err)
		})
	}
}

// TestKubernetesPods: a check's view — every matching pod, terminating
// ones too; a workload without pods is no pods, not an error; a workload
// that does not exist is.
func TestKubernetesPods(t *testing.T) {
	w := newKubeWorld(t)
	ctx := context.Background()
	ps, err := w.k.Pods(ctx, targets.Spec{Labels: map[string]string{"hold": "yes"}})
	require.NoError(t, err)
	require.Len(t, ps, 1)
	assert.NotNil(t, ps[0].DeletionTimestamp, "a terminating pod is there for the check to judge")
	ps, err = w.k.Pods(ctx, targets.Spec{Deployment: "empty"})
	require.NoError(t, err)
	assert.Empty(t, ps)
	ps, err = w.k.Pods(ctx, targets.Spec{Deployment: "model"})
	require.NoError(t, err)
	assert.Len(t, ps, 3)
	_, err = w.k.Pods(ctx, targets.Spec{Deployment: "gone"})
	assert.ErrorContains(t, err, "no such deployment")
	_, err = w.k.Pods(ctx, targets.Spec{Namespace: "chaos-no-such-ns"})
	assert.ErrorContains(t, err, `namespace "chaos-no-such-ns" does not exist`)
}
