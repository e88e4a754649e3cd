package e2ekube

import (
	"context"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// fakeApp runs n pods of a Deployment named name on a kwok fake node of
// its own (kwok, started by cluster.sh, keeps the node Ready and the pods
// Running with no kubelet and no container) and returns the node. The pods
// may run on that node only, so while it is cordoned their replacements
// stay Pending.
func (c *cluster) fakeApp(name string, n int32) string {
	c.T.Helper()
	node := kubetest.FakeNode(c.T, c.CS)
	kubetest.Deployment(c.T, c.CS, c.NS, name, n, kubetest.FakePodSpec(node))
	return node
}

// runningPods lists the running, not terminating pods labelled app: name,
// on node ("" = any).
func (c *cluster) runningPods(name, node string) []string {
	c.T.Helper()
	opts := metav1.ListOptions{LabelSelector: "app=" + name}
	if node != "" {
		opts.FieldSelector = "spec.nodeName=" + node
	}
	ps, err := c.CS.CoreV1().Pods(c.NS).List(context.Background(), opts)
	require.NoError(c.T, err)
	var out []string
	for _, p := range ps.Items {
		if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning {
			out = append(out, p.Name)
		}
	}
	return out
}

// node is a node's object.
func (c *cluster) node(name string) *corev1.Node {
	c.T.Helper()
	n, err := c.CS.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(c.T, err)
	return n
}
