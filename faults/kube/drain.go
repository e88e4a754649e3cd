package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
	"github.com/chaos-sre/chaos/internal/units"
)

// NodeDrain is a node failure as an operator makes one (`kubectl drain`):
// the nodes of the targets (or node targets) are cordoned, then their pods
// evicted through the Eviction API, which honours PodDisruptionBudgets. An
// eviction a budget blocks is tried again until timeout, then left (the
// budget held: that is evidence too) or, with force, the pod is deleted.
// DaemonSet pods and mirror (static) pods stay, as kubectl leaves them; a
// pod no controller owns is refused unless allow_unmanaged. Rollback
// uncordons the nodes (unless cordoned before the run); evicted pods are
// their controllers' to place again, wherever the scheduler likes.
type NodeDrain struct {
	Grace          *units.Duration `yaml:"grace,omitempty" json:"grace,omitempty" jsonschema:"description=time each evicted pod gets to stop (whole seconds; default: the pod's own terminationGracePeriodSeconds)"`
	Timeout        units.Duration  `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=how long an eviction that a PodDisruptionBudget blocks is tried again,default=30s"`
	Force          bool            `yaml:"force,omitempty" json:"force,omitempty" jsonschema:"description=delete a pod whose eviction is still blocked at the timeout (the budget is overridden)"`
	AllowUnmanaged bool            `yaml:"allow_unmanaged,omitempty" json:"allow_unmanaged,omitempty" jsonschema:"description=also evict pods no controller owns: they do not come back"`

	settings
}

var _ faults.Fault = (*NodeDrain)(nil)

// Validate implements Fault.
func (d *NodeDrain) Validate() []units.Problem {
	ps := validateGrace(d.Grace, false)
	if d.Timeout < 0 {
		ps = append(ps, units.Problemf("timeout", "must not be negative (e.g. 30s)"))
	}
	return ps
}

// LeaseKeys implements faults.Leaser: the node of the target.
func (d *NodeDrain) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	return leaseKeys(nodesOf("node-drain", []targets.Target{t}))
}

// Preflight implements faults.Preflighter: every node answers, no other
// run holds one, and none runs a pod that would not come back.
func (d *NodeDrain) Preflight(ctx context.Context, ts []targets.Target) error {
	refs, err := nodesOf("node-drain", ts)
	if err != nil {
		return err
	}
	if err := preflight(ctx, refs); err != nil {
		return err
	}
	_, err = d.evictable(ctx, refs, nil)
	return err
}

// Inject implements Fault.
func (d *NodeDrain) Inject(ctx context.Context, env faults.Env) error {
	refs, err := nodesOf("node-drain", env.Targets)
	if err != nil {
		return err
	}
	if _, err := d.evictable(ctx, refs, nil); err != nil {
		return err
	}
	if err := d.apply(ctx, env, unschedulableSetting("node-drain"), "kube-uncordon", refs, jsonOf(true)); err != nil {
		return err
	}
	pods, err := d.evictable(ctx, refs, env.Log)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(d.Timeout.D())
	grace := graceSeconds(d.Grace, false)
	noop := func(context.Context) error { return nil }
	return kclient.Each(ctx, pods, func(ctx context.Context, r Ref) error {
		cs, err := Client(r.Cluster)
		if err != nil {
			return err
		}
		var how string
		ch := faults.Change{Target: r.String(), Action: "kube-gone", Data: r, Undo: noop}
		if err := d.track().Apply(env, ch, func() error {
			how, err = d.evict(ctx, cs, r, grace, deadline)
			return err
		}); err != nil {
			return fmt.Errorf("node-drain: %w", err)
		}
		fmt.Fprintf(env.Log, "  %s %s\n", how, r)
		return nil
	})
}

// Rollback implements Fault.
func (d *NodeDrain) Rollback(ctx context.Context) error { return d.rollback(ctx) }

// evictable lists the pods a drain of nodes evicts: not DaemonSet or mirror
// pods, not pods already ending or ended. A pod no controller owns is an
// error unless allow_unmanaged (after the cordon, with log set: skipped
// and said, since the nodes were checked before).
func (d *NodeDrain) evictable(ctx context.Context, nodes []Ref, log io.Writer) ([]Ref, error) {
	var out []Ref
	var errs []error
	for _, n := range nodes {
		cs, err := Client(n.Cluster)
		if err != nil {
			return nil, err
		}
		list, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + n.Name})
		if err != nil {
			return nil, fmt.Errorf("node-drain: list the pods of %s: %w", n, err)
		}
		for i := range list.Items {
			pod := &list.Items[i]
			if skip(pod) {
				continue
			}
			if !d.AllowUnmanaged {
				if err := managed("node-drain", pod); err != nil {
					if log == nil {
						errs = append(errs, err)
					} else {
						fmt.Fprintf(log, "  left %s/%s on %s: no controller owns it\n", pod.Namespace, pod.Name, n)
					}
					continue
				}
			}
			out = append(out, Ref{Cluster: n.Cluster, Server: n.Server, Resource: pods, Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)})
		}
	}
	return out, errors.Join(errs...)
}

// skip says a drain leaves a pod: a mirror pod (the kubelet's, from a static
// manifest), a DaemonSet's (it would come back on the same node), one ending
// or ended.
func skip(pod *corev1.Pod) bool {
	if _, mirror := pod.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return true
	}
	if c := metav1.GetControllerOf(pod); c != nil && c.Kind == "DaemonSet" {
		return true
	}
	return pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// evict asks the API to evict one pod (of r's UID only), trying again while
// a PodDisruptionBudget blocks it, until deadline; then force deletes it,
// or it is left.
func (d *NodeDrain) evict(ctx context.Context, cs kubernetes.Interface, r Ref, grace *int64, deadline time.Time) (string, error) {
	uid := types.UID(r.UID)
	ev := &policyv1.Eviction{
		ObjectMeta:    metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace},
		DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: grace, Preconditions: &metav1.Preconditions{UID: &uid}},
	}
	for {
		err := cs.PolicyV1().Evictions(r.Namespace).Evict(ctx, ev)
		switch {
		case err == nil:
			return "evicted", nil
		case apierrors.IsNotFound(err):
			return "found gone already:", nil
		case apierrors.IsConflict(err):
			return "left alone (replaced by a new pod of that name):", nil
		case !apierrors.IsTooManyRequests(err):
			return "", fmt.Errorf("evict %s: %w", r, err)
		}
		if time.Now().After(deadline) {
			if !d.Force {
				return fmt.Sprintf("left running (its PodDisruptionBudget allowed no eviction for %s; force: true deletes it):", d.Timeout), nil
			}
			how, err := deletePod(ctx, cs, r, grace)
			if how == "deleted" || how == "force-deleted" {
				how += " (its PodDisruptionBudget blocked the eviction; force)"
			}
			return how, err
		}
		wait := time.Second
		if s, ok := apierrors.SuggestsClientDelay(err); ok && s > 0 && s < 10 {
			wait = time.Duration(s) * time.Second
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(min(wait, time.Until(deadline)+10*time.Millisecond)):
		}
	}
}
