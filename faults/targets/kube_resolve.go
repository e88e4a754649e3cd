package targets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Kubernetes resolves the selectors of a Kubernetes stack through the
// cluster's API: pod, deployment and statefulset (their pods), service (the
// pods its selector picks), labels (pods), namespace (alone: every pod of
// it; beside another selector: where to look) and node. Other specs (url,
// proxy, process …) go to Fallback. Matches are sorted by name, so a
// seeded pick repeats.
type Kubernetes struct {
	API     kubernetes.Interface
	Cluster Cluster
	// Namespace is where selectors look unless the spec names its own
	// ("" = "default").
	Namespace string
	Fallback  Resolver
}

var _ Resolver = (*Kubernetes)(nil)

// IsKube reports whether spec names something a Kubernetes stack resolves
// (rather than its fallback): pod, deployment, statefulset, service,
// labels, namespace or node.
func IsKube(spec Spec) bool {
	return spec.Pod != "" || spec.Deployment != "" || spec.StatefulSet != "" || spec.Service != "" ||
		len(spec.Labels) > 0 || spec.Namespace != "" || spec.Node != ""
}

// Resolve implements Resolver: the live pods a selector matches (pending,
// running: not terminating, not finished), each with its workload, node
// and address; a deployment or statefulset with none is one target naming
// the workload (so a scale fault still acts on it); a node selector is the
// node. A labels or namespace selector that matches more than one pod
// needs a pick; the pods of a workload or service are meant to be hit whole.
func (k *Kubernetes) Resolve(ctx context.Context, spec Spec) ([]Target, error) {
	if !IsKube(spec) {
		if k.Fallback == nil {
			return nil, errors.New("target names nothing a Kubernetes stack has (valid: one of pod, deployment, statefulset, service, labels, namespace, node)")
		}
		return k.Fallback.Resolve(ctx, spec)
	}
	if spec.Node != "" {
		return k.node(ctx, spec.Node)
	}
	sel, err := k.selectPods(ctx, spec)
	if err != nil {
		return nil, err
	}
	var out []Target
	var down []string
	var ownerOf func(corev1.Pod) (string, string)
	if sel.kind == "" {
		ownerOf = k.owners(ctx, sel.ns, sel.pods)
	}
	for _, p := range sel.pods {
		if why := notLive(p); why != "" {
			down = append(down, p.Name+" ("+why+")")
			continue
		}
		out = append(out, k.podTarget(sel, p, spec, ownerOf))
	}
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.Name, b.Name) })
	switch {
	case len(out) == 0 && sel.kind != "":
		return []Target{{Name: strings.ToLower(sel.kind) + "/" + sel.name,
			Kube: &Kube{Cluster: k.Cluster, Namespace: sel.ns, OwnerKind: sel.kind, Owner: sel.name}}}, nil
	case len(out) == 0 && len(down) > 0:
		return nil, fmt.Errorf("target %s matches no running pod (found, not running: %s)", sel.what, strings.Join(first(down, 12), ", "))
	case len(out) == 0:
		return nil, fmt.Errorf("target %s matches no pod (%s)", sel.what, k.found(ctx, sel.ns, "pods"))
	case len(out) > 1 && sel.guess && spec.Pick == "":
		names := make([]string, 0, len(out))
		for _, t := range out {
			names = append(names, t.Name)
		}
		return nil, Refusef("target %s matches %d pods (%s) and chaos does not guess (valid: pick: all to hit every one, pick: one, N or N%%, or deployment:, statefulset:, service: or pod: to name them)",
			sel.what, len(out), strings.Join(first(names, 20), ", "))
	}
	return out, nil
}

// Pods returns every pod spec matches, terminating and finished ones too,
// for checks that judge pods: none is not an error (a workload scaled to
// zero, a pod deleted), a workload or namespace that does not exist is.
// Sorted by name.
func (k *Kubernetes) Pods(ctx context.Context, spec Spec) ([]corev1.Pod, error) {
	if spec.Node != "" || !IsKube(spec) {
		return nil, fmt.Errorf("target %s selects no pods (valid: one of pod, deployment, statefulset, service, labels, namespace)", describeSpec(spec))
	}
	sel, err := k.selectPods(ctx, spec)
	if err != nil {
		return nil, err
	}
	if len(sel.pods) == 0 && sel.kind == "" && spec.Pod == "" {
		if err := k.namespaceExists(ctx, sel.ns); err != nil {
			return nil, fmt.Errorf("target %s: %w", sel.what, err)
		}
	}
	return sel.pods, nil
}

// DefaultNamespace is the namespace selectors look in when a spec names none.
func (k *Kubernetes) DefaultNamespace() string { return cmp.Or(k.Namespace, "default") }

// podSelection is what a pod selector matched.
type podSelection struct {
	what       string // for messages, e.g. `deployment "model" in namespace "inference"`
	ns         string
	pods       []corev1.Pod
	kind, name string // the workload the selector names, "" for none
	guess      bool   // labels or namespace: several matches need a pick
}

// selectPods lists the pods a pod selector names, in every phase.
func (k *Kubernetes) selectPods(ctx context.Context, spec Spec) (podSelection, error) {
	ns := cmp.Or(spec.Namespace, k.DefaultNamespace())
	in := fmt.Sprintf(" in namespace %q", ns)
	switch {
	case spec.Pod != "":
		sel := podSelection{what: fmt.Sprintf("pod %q", spec.Pod) + in, ns: ns}
		p, err := k.API.CoreV1().Pods(ns).Get(ctx, spec.Pod, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return sel, fmt.Errorf("target %s: no such pod (%s)", sel.what, k.found(ctx, ns, "pods"))
		case err != nil:
			return sel, fmt.Errorf("target %s: %w", sel.what, err)
		}
		sel.pods = []corev1.Pod{*p}
		return sel, nil
	case spec.Deployment != "":
		return k.workloadPods(ctx, ns, "Deployment", spec.Deployment)
	case spec.StatefulSet != "":
		return k.workloadPods(ctx, ns, "StatefulSet", spec.StatefulSet)
	case spec.Service != "":
		return k.servicePods(ctx, ns, spec.Service)
	case len(spec.Labels) > 0:
		set := labels.Set(spec.Labels)
		sel := podSelection{what: "labels " + set.String() + in, ns: ns, guess: true}
		var err error
		sel.pods, err = k.listPods(ctx, ns, set.AsSelector().String())
		if err != nil {
			return sel, fmt.Errorf("target %s: %w", sel.what, err)
		}
		return sel, nil
	}
	sel := podSelection{what: fmt.Sprintf("namespace %q", ns), ns: ns, guess: true}
	var err error
	if sel.pods, err = k.listPods(ctx, ns, ""); err != nil {
		return sel, fmt.Errorf("target %s: %w", sel.what, err)
	}
	if len(sel.pods) == 0 {
		if err := k.namespaceExists(ctx, ns); err != nil {
			return sel, fmt.Errorf("target %s: %w", sel.what, err)
		}
	}
	return sel, nil
}

// servicePods lists the pods a Service's selector picks, as its endpoints do.
func (k *Kubernetes) servicePods(ctx context.Context, ns, name string) (podSelection, error) {
	sel := podSelection{what: fmt.Sprintf("service %q in namespace %q", name, ns), ns: ns}
	svc, err := k.API.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return sel, fmt.Errorf("target %s: no such service (%s)", sel.what, k.found(ctx, ns, "services"))
	case err != nil:
		return sel, fmt.Errorf("target %s: %w", sel.what, err)
	case len(svc.Spec.Selector) == 0:
		return sel, fmt.Errorf("target %s has no pod selector (its endpoints are set by hand, or it is an ExternalName), so it names no pods (valid: a service with a selector, or deployment:, statefulset:, labels: or pod:)", sel.what)
	}
	sel.pods, err = k.listPods(ctx, ns, labels.SelectorFromSet(svc.Spec.Selector).String())
	if err != nil {
		return sel, fmt.Errorf("target %s: %w", sel.what, err)
	}
	return sel, nil
}

// listPods lists the pods of ns a label selector ("" = all) matches,
// sorted by name, a page at a time.
func (k *Kubernetes) listPods(ctx context.Context, ns, selector string) ([]corev1.Pod, error) {
	var out []corev1.Pod
	opts := metav1.ListOptions{LabelSelector: selector, Limit: 500}
	for {
		l, err := k.API.CoreV1().Pods(ns).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list pods: %w", err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			break
		}
		opts.Continue = l.Continue
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// notLive says why a pod is not a target ("" when it is): it is being
// deleted, or it has finished.
func notLive(p corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "Terminating"
	case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		return string(p.Status.Phase)
	}
	return ""
}

// podTarget is the target of one live pod: its workload (the selector's,
// or found through its owner references by ownerOf), node, IP and first
// port.
func (k *Kubernetes) podTarget(sel podSelection, p corev1.Pod, spec Spec, ownerOf func(corev1.Pod) (string, string)) Target {
	kind, owner := sel.kind, sel.name
	if kind == "" && ownerOf != nil {
		kind, owner = ownerOf(p)
	}
	kb := &Kube{Cluster: k.Cluster, Namespace: p.Namespace, Pod: p.Name, PodUID: string(p.UID),
		OwnerKind: kind, Owner: owner, Node: p.Spec.NodeName, IP: p.Status.PodIP}
	for _, c := range p.Spec.Containers {
		kb.Containers = append(kb.Containers, c.Name)
	}
	return Target{Name: p.Name, Service: spec.Service, Addr: podAddr(p), Kube: kb}
}

// podAddr is the pod's IP and the first port its containers declare
// (host:port), "" without an IP or a port.
func podAddr(p corev1.Pod) string {
	if p.Status.PodIP == "" {
		return ""
	}
	for _, c := range p.Spec.Containers {
		for _, port := range c.Ports {
			if port.ContainerPort > 0 && (port.Protocol == "" || port.Protocol == corev1.ProtocolTCP) {
				return net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(port.ContainerPort)))
			}
		}
	}
	return ""
}

// node resolves a node by name to a node target.
func (k *Kubernetes) node(ctx context.Context, name string) ([]Target, error) {
	n, err := k.API.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("target node %q: no such node (%s)", name, k.found(ctx, "", "nodes"))
	case err != nil:
		return nil, fmt.Errorf("target node %q: %w", name, err)
	}
	return []Target{{Name: "node/" + n.Name, Kube: &Kube{Cluster: k.Cluster, Node: n.Name}}}, nil
}

// namespaceExists is nil when ns exists (or chaos may not ask), else says
// which namespaces do.
func (k *Kubernetes) namespaceExists(ctx context.Context, ns string) error {
	_, err := k.API.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("namespace %q does not exist (%s)", ns, k.found(ctx, "", "namespaces"))
	}
	return nil
}

// describeSpec names a Kubernetes selector for messages.
func describeSpec(s Spec) string {
	switch {
	case s.Node != "":
		return fmt.Sprintf("node %q", s.Node)
	case s.Pod != "":
		return fmt.Sprintf("pod %q", s.Pod)
	case s.Deployment != "":
		return fmt.Sprintf("deployment %q", s.Deployment)
	case s.StatefulSet != "":
		return fmt.Sprintf("statefulset %q", s.StatefulSet)
	case s.Service != "":
		return fmt.Sprintf("service %q", s.Service)
	case len(s.Labels) > 0:
		return "labels " + labels.Set(s.Labels).String()
	case s.Namespace != "":
		return fmt.Sprintf("namespace %q", s.Namespace)
	}
	return "(no selector)"
}
