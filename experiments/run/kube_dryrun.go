package run

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
)

// describeKubeTarget is a Kubernetes selector as written, "" for others.
func describeKubeTarget(s targets.Spec) string {
	in := ""
	if s.Namespace != "" {
		in = " in namespace " + s.Namespace
	}
	switch {
	case s.Node != "":
		return "node " + s.Node
	case s.Pod != "":
		return "pod " + s.Pod + in
	case s.Deployment != "":
		return "deployment " + s.Deployment + in
	case s.StatefulSet != "":
		return "statefulset " + s.StatefulSet + in
	case s.Service != "" && in != "":
		return "service " + s.Service + in
	case len(s.Labels) > 0 && in != "":
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			kv = append(kv, k+"="+s.Labels[k])
		}
		return "labels " + strings.Join(kv, ",") + in
	case s.Namespace != "":
		return "every pod of namespace " + s.Namespace
	}
	return ""
}

// describeKube says what a resolved Kubernetes target is: the workload a
// pod belongs to and the node it runs on, or the workload itself when it
// has no pod.
func describeKube(k *targets.Kube) []string {
	switch {
	case k == nil:
		return nil
	case k.Pod != "":
		of := "pod in " + k.Namespace
		if k.OwnerKind != "" {
			of = fmt.Sprintf("pod of %s/%s in %s", strings.ToLower(k.OwnerKind), k.Owner, k.Namespace)
		}
		node := "node " + k.Node
		if k.Node == "" {
			node = "not scheduled on a node yet"
		}
		return []string{of, node}
	case k.Owner != "":
		return []string{fmt.Sprintf("no pod now: the %s itself, in %s", strings.ToLower(k.OwnerKind), k.Namespace)}
	}
	return nil
}

// writeCheckPods prints, under a pods check's line, the pods it would
// judge now and how many are Ready; nothing for other checks or when the
// stack is not a cluster that answered.
func (d dryWorld) writeCheckPods(ctx context.Context, out io.Writer, c experiments.CheckSpec) {
	pc, ok := c.Check.(*verify.PodsCheck)
	if !ok || d.w == nil || d.w.kube == nil {
		return
	}
	const indent = "      "
	pods, err := d.w.kube.Pods(ctx, pc.Target)
	if err != nil {
		fmt.Fprintf(out, "%snot resolved: %v\n", indent, err)
		return
	}
	var names []string
	ready := 0
	for _, p := range pods {
		names = append(names, p.Name)
		for _, cond := range p.Status.Conditions {
			if cond.Type == "Ready" && cond.Status == "True" && p.DeletionTimestamp == nil {
				ready++
			}
		}
	}
	if len(pods) == 0 {
		fmt.Fprintf(out, "%s→ no pods now\n", indent)
		return
	}
	if len(names) > 12 {
		names = append(names[:12:12], fmt.Sprintf("… %d more", len(names)-12))
	}
	fmt.Fprintf(out, "%s→ %d pods now, %d ready: %s\n", indent, len(pods), ready, strings.Join(names, ", "))
}
