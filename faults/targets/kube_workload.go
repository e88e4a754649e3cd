package targets

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// workloadPods lists the pods of a Deployment or StatefulSet: those its
// selector matches whose owner chain leads to it (pod → ReplicaSet →
// Deployment, pod → StatefulSet), so a stray pod that merely carries the
// labels is not hit. The selection names the workload.
func (k *Kubernetes) workloadPods(ctx context.Context, ns, kind, name string) (podSelection, error) {
	sel := podSelection{what: fmt.Sprintf("%s %q in namespace %q", strings.ToLower(kind), name, ns), ns: ns, kind: kind, name: name}
	var uid types.UID
	var selector *metav1.LabelSelector
	var err error
	switch kind {
	case "Deployment":
		var d *appsv1.Deployment
		if d, err = k.API.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			uid, selector = d.UID, d.Spec.Selector
		}
	default:
		var s *appsv1.StatefulSet
		if s, err = k.API.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{}); err == nil {
			uid, selector = s.UID, s.Spec.Selector
		}
	}
	switch {
	case apierrors.IsNotFound(err):
		plural := strings.ToLower(kind) + "s"
		return sel, fmt.Errorf("target %s: no such %s (%s)", sel.what, strings.ToLower(kind), k.found(ctx, ns, plural))
	case err != nil:
		return sel, fmt.Errorf("target %s: %w", sel.what, err)
	}
	ls, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil {
		return sel, fmt.Errorf("target %s: its selector: %w", sel.what, err)
	}
	pods, err := k.listPods(ctx, ns, ls.String())
	if err != nil {
		return sel, fmt.Errorf("target %s: %w", sel.what, err)
	}
	owned := func(ref *metav1.OwnerReference) bool { return ref != nil && ref.Kind == kind && ref.UID == uid }
	if kind == "Deployment" {
		rs, err := k.replicaSets(ctx, ns, ls.String())
		if err != nil {
			return sel, fmt.Errorf("target %s: %w", sel.what, err)
		}
		owned = func(ref *metav1.OwnerReference) bool {
			if ref == nil || ref.Kind != "ReplicaSet" {
				return false
			}
			up, ok := rs[ref.UID]
			return ok && up.Kind == "Deployment" && up.UID == uid
		}
	}
	for _, p := range pods {
		if owned(metav1.GetControllerOf(&p)) {
			sel.pods = append(sel.pods, p)
		}
	}
	return sel, nil
}

// replicaSets maps the UID of each ReplicaSet of ns a selector matches to
// its controller (a zero reference when it has none).
func (k *Kubernetes) replicaSets(ctx context.Context, ns, selector string) (map[types.UID]metav1.OwnerReference, error) {
	out := map[types.UID]metav1.OwnerReference{}
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	for {
		l, err := k.API.AppsV1().ReplicaSets(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list replicasets: %w", err)
		}
		for _, rs := range l.Items {
			var ref metav1.OwnerReference
			if c := metav1.GetControllerOf(&rs); c != nil {
				ref = *c
			}
			out[rs.UID] = ref
		}
		if l.Continue == "" {
			return out, nil
		}
		opts.Continue = l.Continue
	}
}

// owners names the workload behind each pod of a selection: through its
// ReplicaSet the Deployment (or the ReplicaSet when it has none), else the
// pod's own controller (StatefulSet, DaemonSet, Job …); "" for a bare pod.
// The namespace's ReplicaSets are listed once, and only when a pod has one.
func (k *Kubernetes) owners(ctx context.Context, ns string, pods []corev1.Pod) func(corev1.Pod) (kind, name string) {
	var rs map[types.UID]metav1.OwnerReference
	for _, p := range pods {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.Kind == "ReplicaSet" {
			rs, _ = k.replicaSets(ctx, ns, "")
			break
		}
	}
	return func(p corev1.Pod) (string, string) {
		ref := metav1.GetControllerOf(&p)
		if ref == nil {
			return "", ""
		}
		if up, ok := rs[ref.UID]; ok && ref.Kind == "ReplicaSet" && up.Kind == "Deployment" {
			return up.Kind, up.Name
		}
		return ref.Kind, ref.Name
	}
}

// found lists what does exist, for the error of a selector that matches
// nothing: the names of the objects of a kind in ns (nodes and namespaces
// are cluster-wide), at most 12 of them.
func (k *Kubernetes) found(ctx context.Context, ns, plural string) string {
	var names []string
	var err error
	var opts metav1.ListOptions
	switch plural {
	case "pods":
		var l *corev1.PodList
		if l, err = k.API.CoreV1().Pods(ns).List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	case "services":
		var l *corev1.ServiceList
		if l, err = k.API.CoreV1().Services(ns).List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	case "deployments":
		var l *appsv1.DeploymentList
		if l, err = k.API.AppsV1().Deployments(ns).List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	case "statefulsets":
		var l *appsv1.StatefulSetList
		if l, err = k.API.AppsV1().StatefulSets(ns).List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	case "nodes":
		var l *corev1.NodeList
		if l, err = k.API.CoreV1().Nodes().List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	case "namespaces":
		var l *corev1.NamespaceList
		if l, err = k.API.CoreV1().Namespaces().List(ctx, opts); err == nil {
			for _, x := range l.Items {
				names = append(names, x.Name)
			}
		}
	}
	if err != nil {
		return "cannot list " + plural + ": " + err.Error()
	}
	where := ""
	if ns != "" {
		where = fmt.Sprintf(" in namespace %q", ns)
	}
	if len(names) == 0 {
		if ns != "" && plural != "namespaces" {
			if nerr := k.namespaceExists(ctx, ns); nerr != nil {
				return nerr.Error()
			}
		}
		return "no " + plural + where + " at all"
	}
	slices.Sort(names)
	return plural + " found" + where + ": " + strings.Join(first(names, 12), ", ")
}
