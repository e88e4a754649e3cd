// Package kube is the Kubernetes family: faults through the API server,
// nothing installed in the cluster (pod-delete, scale, cordon, node-drain,
// container-kill), one kind per file. This file holds what they share: the
// identity a journal entry keeps, reading and patching the objects, bounded
// concurrency, and the undoers `chaos recover` runs.
//
// Every change that has something to restore (a replica count, a node's
// schedulability) is also written on the object itself, in the same
// request: an annotation naming the run and the old value (see Mark), so a
// recover from another machine finds it (Scan) and a second run refuses the
// object while it is on.
package kube

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// Client returns the clientset of a cluster; tests may swap it.
var Client = kclient.Client

// The resources the family changes, as the API names them (and lease keys).
const (
	pods         = "pods"
	deployments  = "deployments"
	statefulsets = "statefulsets"
	nodes        = "nodes"
)

// Ref is the journal data of a change to one object: enough for another
// process to reach it again (the cluster by kubeconfig and context, checked
// against the API server it named), and to tell it is the same object (its
// UID: a deployment deleted and created again under its name is another).
type Ref struct {
	Cluster   targets.Cluster `json:"cluster"`
	Server    string          `json:"server"`
	Resource  string          `json:"resource"` // pods, deployments, statefulsets, nodes
	Namespace string          `json:"namespace,omitempty"`
	Name      string          `json:"name"`
	UID       string          `json:"uid,omitempty"`
}

// String names the object for messages: deployment shop/web, node n1.
func (r Ref) String() string {
	kind := strings.TrimSuffix(r.Resource, "s")
	if r.Namespace == "" {
		return kind + " " + r.Name
	}
	return kind + " " + r.Namespace + "/" + r.Name
}

// LeaseKey is the object's host-wide lease key (faults.KubeKey).
func (r Ref) LeaseKey() string { return faults.KubeKey(r.Server, r.Namespace, r.Resource, r.Name) }

// refTo is the reference of an object of a target's cluster (UID unknown yet).
func refTo(t targets.Target, resource, namespace, name string) (Ref, error) {
	c := kclient.Absolute(t.Kube.Cluster)
	s, err := kclient.Server(c)
	if err != nil {
		return Ref{}, err
	}
	return Ref{Cluster: c, Server: s, Resource: resource, Namespace: namespace, Name: name}, nil
}

// kubeTargets checks that every target is a Kubernetes one.
func kubeTargets(kind string, ts []targets.Target) error {
	for _, t := range ts {
		if t.Kube == nil {
			return fmt.Errorf("%s fault: target %s is not a Kubernetes object (target pod:, deployment:, statefulset:, namespace: or node: with stack.kubernetes)", kind, t.Name)
		}
	}
	return nil
}

// workloadOf is the Deployment or StatefulSet a target is or belongs to.
func workloadOf(kind string, t targets.Target) (Ref, error) {
	var res string
	switch t.Kube.OwnerKind {
	case "Deployment":
		res = deployments
	case "StatefulSet":
		res = statefulsets
	default:
		return Ref{}, fmt.Errorf("%s fault: pod %s/%s belongs to no Deployment or StatefulSet: nothing to scale (target deployment: or statefulset:)", kind, t.Kube.Namespace, t.Kube.Pod)
	}
	return refTo(t, res, t.Kube.Namespace, t.Kube.Owner)
}

// nodeOf is the node a target is or runs on.
func nodeOf(kind string, t targets.Target) (Ref, error) {
	if t.Kube.Node == "" {
		return Ref{}, fmt.Errorf("%s fault: target %s is on no node (a pod not scheduled yet, or a workload with no pod): target node: or a running pod", kind, t.Name)
	}
	return refTo(t, nodes, "", t.Kube.Node)
}

// podOf is the pod a target is.
func podOf(kind string, t targets.Target) (Ref, error) {
	if t.Kube.Pod == "" {
		return Ref{}, fmt.Errorf("%s fault: target %s is not a pod (a workload with no pod, or a node)", kind, t.Name)
	}
	r, err := refTo(t, pods, t.Kube.Namespace, t.Kube.Pod)
	r.UID = t.Kube.PodUID
	return r, err
}

// unique is refs of every target, each object once, in target order.
func unique(ts []targets.Target, of func(targets.Target) (Ref, error)) ([]Ref, error) {
	seen := map[string]bool{}
	var out []Ref
	for _, t := range ts {
		r, err := of(t)
		if err != nil {
			return nil, err
		}
		if !seen[r.LeaseKey()] {
			seen[r.LeaseKey()] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// leaseKeys are the lease keys of refs.
func leaseKeys(refs []Ref, err error) ([]string, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		keys[i] = r.LeaseKey()
	}
	return keys, err
}

// object is what the family reads of a deployment, statefulset or node.
type object struct {
	meta          metav1.ObjectMeta
	replicas      int32 // a workload's spec.replicas
	unschedulable bool  // a node's spec.unschedulable
}

func get(ctx context.Context, cs kubernetes.Interface, r Ref) (object, error) {
	var o object
	switch r.Resource {
	case deployments:
		d, err := cs.AppsV1().Deployments(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.meta, o.replicas = d.ObjectMeta, replicasOf(d.Spec.Replicas)
	case statefulsets:
		s, err := cs.AppsV1().StatefulSets(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.meta, o.replicas = s.ObjectMeta, replicasOf(s.Spec.Replicas)
	case nodes:
		n, err := cs.CoreV1().Nodes().Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return o, err
		}
		o.meta, o.unschedulable = n.ObjectMeta, n.Spec.Unschedulable
	default:
		return o, fmt.Errorf("%s: not a resource this family changes", r)
	}
	return o, nil
}

// replicasOf reads spec.replicas, which the API server defaults to 1.
func replicasOf(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

func patch(ctx context.Context, cs kubernetes.Interface, r Ref, pt types.PatchType, data []byte) error {
	var err error
	switch r.Resource {
	case deployments:
		_, err = cs.AppsV1().Deployments(r.Namespace).Patch(ctx, r.Name, pt, data, metav1.PatchOptions{FieldManager: "chaos"})
	case statefulsets:
		_, err = cs.AppsV1().StatefulSets(r.Namespace).Patch(ctx, r.Name, pt, data, metav1.PatchOptions{FieldManager: "chaos"})
	case nodes:
		_, err = cs.CoreV1().Nodes().Patch(ctx, r.Name, pt, data, metav1.PatchOptions{FieldManager: "chaos"})
	default:
		err = fmt.Errorf("%s: not a resource this family changes", r)
	}
	return err
}

// retryable says a conditional write lost a race (the resourceVersion moved,
// or a JSON patch's test failed): read again and decide again.
func retryable(err error) bool {
	return apierrors.IsConflict(err) || testFailed(err)
}

// testFailed says a JSON patch did not apply: the API server answers 422
// with no details (no kind, no field causes, unlike a validation error),
// and its message does not say which operation failed. The patches here
// only fail that way when a test finds the object changed.
func testFailed(err error) bool {
	var st apierrors.APIStatus
	if !errors.As(err, &st) || !apierrors.IsInvalid(err) {
		return false
	}
	d := st.Status().Details
	return d == nil || d.Kind == "" && len(d.Causes) == 0
}

// maxTries bounds the read-decide-write loops: an object rewritten this
// often under us is reported, not fought over.
const maxTries = 8

// clientFor connects to a journaled object's cluster, and checks that its
// kubeconfig still names the API server the change was made through.
func clientFor(r Ref) (kubernetes.Interface, error) {
	s, err := kclient.Server(r.Cluster)
	if err != nil {
		return nil, err
	}
	if s != r.Server {
		return nil, &faults.NotSameError{What: r.String(), Why: fmt.Sprintf("the kubeconfig now names API server %s, the change was made on %s", s, r.Server)}
	}
	return Client(r.Cluster)
}

// offline is the undoer of a journal action: the entry's object, reached
// again, restored by undo with the entry's run and fault.
func offline(undo func(context.Context, kubernetes.Interface, Ref, string, string) error) faults.UndoFunc {
	return func(ctx context.Context, e journal.Entry) error {
		r, err := faults.Decode[Ref](e)
		if err != nil {
			return err
		}
		if e.Key != r.LeaseKey() {
			return &faults.NotSameError{What: r.String(), Why: "the entry's lease key is " + e.Key}
		}
		cs, err := clientFor(r)
		if err != nil {
			return err
		}
		return undo(ctx, cs, r, e.Run, e.Fault)
	}
}

// Undoers are the offline undoers of the family's journal actions (for
// `chaos recover`); the registry lists them.
var Undoers = map[string]faults.UndoFunc{
	"kube-replicas": offline(restoreReplicas), // scale
	"kube-uncordon": offline(uncordon),        // cordon, node-drain
	"kube-gone":     nothingToRestore,         // pod-delete, an eviction, container-kill
}

// nothingToRestore is the undoer of a change the cluster heals itself: a
// deleted or evicted pod is recreated by its controller, a killed container
// restarted by its kubelet.
func nothingToRestore(context.Context, journal.Entry) error { return nil }
