package experiments

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
)

// kubeExample is how a stack.kubernetes is written, for hints.
const kubeExample = "stack: {kubernetes: {kubeconfig: ~/.kube/config, namespace: inference}}"

// kubeValid lists the target selectors of a Kubernetes stack.
const kubeValid = "(valid with stack.kubernetes: one of pod, deployment, statefulset, service, labels, node, with namespace beside a pod selector to say where; namespace alone for every pod of it; url, proxy or a process selector for what runs outside the cluster)"

// kubeSelectors are the selectors only a Kubernetes stack has, with
// whether spec sets each.
func kubeSelectors(t targets.Spec) []struct {
	name string
	on   bool
} {
	return []struct {
		name string
		on   bool
	}{{"pod", t.Pod != ""}, {"deployment", t.Deployment != ""}, {"statefulset", t.StatefulSet != ""}, {"node", t.Node != ""}, {"namespace", t.Namespace != ""}}
}

// kubeOnly reports a Kubernetes selector in a target of a stack that is not
// Kubernetes; true when it found one.
func (d *decoder) kubeOnly(path string, t targets.Spec) bool {
	for _, s := range kubeSelectors(t) {
		if s.on {
			d.at(join(path, s.name), "selects Kubernetes objects, which needs stack.kubernetes (e.g. %s; valid without it: service, process, pid, cmdline, pidfile, port, url, container, labels, proxy)", kubeExample)
			return true
		}
	}
	return false
}

// kubeTarget checks a target of a Kubernetes stack: one primary selector
// (set lists those written; namespace may go beside a pod selector), no
// Docker selectors, and names Kubernetes can have.
func (d *decoder) kubeTarget(path string, t targets.Spec, set []string) {
	podSelector := func(s string) bool {
		return slices.Contains([]string{"pod", "deployment", "statefulset", "service", "labels"}, s)
	}
	switch {
	case slices.Contains(set, "container"):
		d.at(join(path, "container"), "names a Docker container; the targets of stack.kubernetes are its pods, workloads and nodes %s", kubeValid)
		return
	case t.Project != "":
		d.at(join(path, "project"), "is a compose project; with stack.kubernetes, namespace says where to look %s", kubeValid)
		return
	case len(set) == 0 && t.Namespace == "":
		d.at(path, "names no target %s", kubeValid)
		return
	case len(set) > 1:
		d.at(join(path, set[1]), "sets both %s and %s %s", set[0], set[1], kubeValid)
		return
	case len(set) == 1 && t.Namespace != "" && !podSelector(set[0]):
		d.at(join(path, "namespace"), "means nothing beside %s (valid: namespace beside pod, deployment, statefulset, service or labels says where they look; a node belongs to no namespace)", set[0])
		return
	}
	for _, n := range []struct{ field, value string }{{"pod", t.Pod}, {"deployment", t.Deployment}, {"statefulset", t.StatefulSet}, {"node", t.Node}, {"service", t.Service}} {
		if n.value != "" && !strings.Contains(n.value, "${") {
			if errs := validation.IsDNS1123Subdomain(n.value); len(errs) > 0 {
				d.at(join(path, n.field), "%q is not a Kubernetes object name (valid: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit, e.g. model-primary)", n.value)
			}
		}
	}
	d.checkNamespace(join(path, "namespace"), t.Namespace)
	for _, k := range slices.Sorted(maps.Keys(t.Labels)) {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			d.at(join(join(path, "labels"), k), "%q is not a label key (valid: up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, after an optional DNS prefix and '/', e.g. app or app.kubernetes.io/name)", k)
		} else if errs := validation.IsValidLabelValue(t.Labels[k]); len(errs) > 0 {
			d.at(join(join(path, "labels"), k), "%q is not a label value (valid: up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit)", t.Labels[k])
		}
	}
}

// checkNamespace checks a namespace name ("" is the default).
func (d *decoder) checkNamespace(path, ns string) {
	if ns == "" || strings.Contains(ns, "${") {
		return
	}
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		d.at(path, "%q is not a Kubernetes namespace name (valid: up to 63 lower-case letters, digits and '-', starting and ending with a letter or digit, e.g. inference)", ns)
	}
}

// kubeWritten makes a stack.kubernetes written with nothing after it (as
// "kubernetes:" alone) the cluster kubectl would use, as {} is.
func (d *decoder) kubeWritten(path string, s *Stack) {
	if _, written := d.nodes[path]; written && s.Kubernetes == nil && !d.failed(path) {
		s.Kubernetes = &KubeStack{}
	}
}

// validateKubeStack checks stack.kubernetes: alone (not with local or
// compose) and a valid namespace.
func (d *decoder) validateKubeStack(s Stack) {
	if s.Kubernetes == nil {
		return
	}
	switch {
	case s.Local != nil:
		d.at("stack.kubernetes", "set one of local, compose or kubernetes, not local and kubernetes (the local stack runs here, a Kubernetes stack in its cluster)")
	case s.Compose != "":
		d.at("stack.kubernetes", "set one of local, compose or kubernetes, not compose and kubernetes (a stack is either a compose project or in a cluster)")
	}
	d.checkNamespace("stack.kubernetes.namespace", s.Kubernetes.Namespace)
	if l := s.Kubernetes.AgentLease.D(); l != 0 && (l < remote.MinLease || l > maxAgentLease) {
		d.at("stack.kubernetes.agent_lease", "%s is out of range (valid: %s to %s; default %s: a killed run's faults stay on pods up to this long)", l, remote.MinLease, maxAgentLease, remote.DefaultLease)
	}
}

// maxAgentLease bounds how long a fault may outlive its run on a pod.
const maxAgentLease = 10 * time.Minute

// validateKubeCheck checks that a check judging a Kubernetes cluster (pods,
// events) has one, and that a check judging Docker containers does not
// stand in a Kubernetes stack.
func (d *decoder) validateKubeCheck(e *Experiment, path string, c CheckSpec) {
	if d.failed(join(path, "kind")) {
		return
	}
	_, judgesKube := c.Check.(verify.KubeChecker)
	_, judgesDocker := c.Check.(*verify.ContainerCheck)
	switch {
	case judgesKube && e.Stack.Kubernetes == nil:
		d.at(join(path, "kind"), "%s judges a Kubernetes cluster, which needs stack.kubernetes (e.g. %s)", c.Kind, kubeExample)
	case judgesDocker && e.Stack.Kubernetes != nil:
		d.at(join(path, "kind"), "%s judges Docker containers; with stack.kubernetes judge pods (valid: kind: pods with target: {deployment: NAME}, ready, max_restarts)", c.Kind)
	}
}

// validateKubeKind checks that a fault's kind and target go together in
// a Kubernetes stack: a Kubernetes selector is reached through the API,
// and inside a pod through the chaos agent of its node, so the kinds the
// agent applies (net-*, partition, dns, conn-limit, freeze, and pause,
// which it takes for freeze) may hit pods but not nodes, kinds that act on
// a local process or a Docker container cannot hit it, and the Kubernetes
// kinds need a Kubernetes target. Quiet when the target was already
// reported.
func (d *decoder) validateKubeKind(path string, f FaultSpec, kube bool) {
	kind, ok := d.reg.Faults[f.Kind]
	tp := join(path, "target")
	if !ok || kind.New == nil || d.failed(join(path, "kind")) || d.failed(tp) || !d.present(tp) {
		return
	}
	var podKinds []string
	for _, name := range slices.Sorted(maps.Keys(d.reg.Faults)) {
		if k := d.reg.Faults[name]; k.Target() == faults.TargetKube || remote.Routes(name, k) {
			podKinds = append(podKinds, name)
		}
	}
	family := kind.Target()
	viaAgent := kube && targets.IsKube(f.Target) && remote.Routes(f.Kind, kind)
	switch {
	case family == faults.TargetKube && !kube:
		d.at(join(path, "kind"), "%s acts on Kubernetes objects, which needs stack.kubernetes (e.g. %s)", f.Kind, kubeExample)
	case family == faults.TargetKube && !targets.IsKube(f.Target):
		d.at(join(path, "kind"), "%s acts on Kubernetes objects, and the target is not one (valid: a target of pod, deployment, statefulset, service, labels, namespace or node)", f.Kind)
	case viaAgent && f.Target.Node != "":
		d.at(join(path, "kind"), "%s acts inside pods, through the chaos agent of their node, and a node is not a pod (valid: a target of pod, deployment, statefulset, service, labels or namespace; cordon or node-drain for a node)", f.Kind)
	case !viaAgent && kube && targets.IsKube(f.Target) && (family == faults.TargetProcess || family == faults.TargetContainer || family == faults.TargetNetns):
		d.at(join(path, "kind"), "%s acts through %s, which a Kubernetes target does not offer: chaos reaches the cluster through its API, and inside pods through the chaos agent (valid for a Kubernetes target: %s)", f.Kind, kind.Mechanism(), strings.Join(podKinds, ", "))
	case viaAgent && allowsHost(f.Params):
		d.at(join(join(path, "params"), "allow_host"), "a fault on a pod never changes its node's network (valid: leave allow_host out)")
	}
}

// allowsHost says whether a fault's params set allow_host.
func allowsHost(params any) bool {
	b, err := json.Marshal(params)
	if err != nil {
		return false
	}
	var m struct {
		AllowHost bool `json:"allow_host"`
	}
	return json.Unmarshal(b, &m) == nil && m.AllowHost
}
