package kube

import (
	"context"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
	"github.com/chaos-sre/chaos/internal/units"
)

// PodDelete deletes the target pods: a crash, an OOM kill, a node lost
// under one pod. Their controller (ReplicaSet, StatefulSet, DaemonSet, Job)
// makes new ones, so rollback has nothing to restore, and the recovery
// phase measures how long the stack takes to heal. A pod no controller owns
// would not come back: it is refused unless allow_unmanaged says so.
type PodDelete struct {
	Grace          *units.Duration `yaml:"grace,omitempty" json:"grace,omitempty" jsonschema:"description=time the pods get to stop after SIGTERM (whole seconds; default: each pod's own terminationGracePeriodSeconds)"`
	Force          bool            `yaml:"force,omitempty" json:"force,omitempty" jsonschema:"description=delete at once with grace 0 (kubectl delete --force): the pod's name is free at once while its containers may still run for a moment"`
	AllowUnmanaged bool            `yaml:"allow_unmanaged,omitempty" json:"allow_unmanaged,omitempty" jsonschema:"description=also delete pods no controller owns: they do not come back"`

	changes faults.Changes
}

var _ faults.Fault = (*PodDelete)(nil)

// Validate implements Fault.
func (p *PodDelete) Validate() []units.Problem {
	return validateGrace(p.Grace, p.Force)
}

// validateGrace checks a grace period: whole seconds (the API's unit), and
// 0 only as force (the API reads 0 as "at once, without the kubelet").
func validateGrace(g *units.Duration, force bool) []units.Problem {
	switch {
	case g != nil && force:
		return []units.Problem{units.Problemf("grace", "force deletes with grace 0; set grace or force, not both")}
	case g != nil && g.D() < time.Second:
		return []units.Problem{units.Problemf("grace", "%s is under a second (valid: 1s or more; force: true deletes at once)", g)}
	}
	return nil
}

// graceSeconds is the grace period to send: nil for the pod's own.
func graceSeconds(g *units.Duration, force bool) *int64 {
	switch {
	case force:
		zero := int64(0)
		return &zero
	case g != nil:
		s := int64(math.Ceil(g.D().Seconds()))
		return &s
	}
	return nil
}

// LeaseKeys implements faults.Leaser: the target pod.
func (p *PodDelete) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	return leaseKeys(podsOf("pod-delete", []targets.Target{t}))
}

// Preflight implements faults.Preflighter: every target is a pod, and one
// no controller owns is refused unless allow_unmanaged.
func (p *PodDelete) Preflight(ctx context.Context, ts []targets.Target) error {
	_, err := p.pods(ctx, ts)
	return err
}

func (p *PodDelete) pods(ctx context.Context, ts []targets.Target) ([]Ref, error) {
	refs, err := podsOf("pod-delete", ts)
	if err != nil || p.AllowUnmanaged {
		return refs, err
	}
	var unowned []Ref
	for i, t := range ts {
		if t.Kube.OwnerKind == "" {
			unowned = append(unowned, refs[i])
		}
	}
	return refs, kclient.Each(ctx, unowned, func(ctx context.Context, r Ref) error {
		cs, err := Client(r.Cluster)
		if err != nil {
			return err
		}
		pod, err := cs.CoreV1().Pods(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("pod-delete: read %s: %w", r, err)
		}
		return managed("pod-delete", pod)
	})
}

// managed refuses a pod no controller owns: deleted, it does not come back.
func managed(kind string, pod *corev1.Pod) error {
	if metav1.GetControllerOf(pod) != nil {
		return nil
	}
	return fmt.Errorf("%s: pod %s/%s has no controller (no ReplicaSet, StatefulSet, DaemonSet or Job owns it): it would not come back; set allow_unmanaged: true to %s it anyway: %w", kind, pod.Namespace, pod.Name, kind, targets.ErrRefused)
}

// podsOf is the pods of the targets (every target must be one).
func podsOf(kind string, ts []targets.Target) ([]Ref, error) {
	if err := kubeTargets(kind, ts); err != nil {
		return nil, err
	}
	refs := make([]Ref, len(ts))
	for i, t := range ts {
		r, err := podOf(kind, t)
		if err != nil {
			return nil, err
		}
		refs[i] = r
	}
	return refs, nil
}

// Inject implements Fault.
func (p *PodDelete) Inject(ctx context.Context, env faults.Env) error {
	refs, err := p.pods(ctx, env.Targets)
	if err != nil {
		return err
	}
	grace := graceSeconds(p.Grace, p.Force)
	noop := func(context.Context) error { return nil }
	return kclient.Each(ctx, refs, func(ctx context.Context, r Ref) error {
		cs, err := Client(r.Cluster)
		if err != nil {
			return err
		}
		how := "deleted"
		ch := faults.Change{Target: r.String(), Key: r.LeaseKey(), Action: "kube-gone", Data: r, Undo: noop}
		if err := p.changes.Apply(env, ch, func() error {
			how, err = deletePod(ctx, cs, r, grace)
			return err
		}); err != nil {
			return fmt.Errorf("pod-delete: %w", err)
		}
		fmt.Fprintf(env.Log, "  %s %s\n", how, r)
		return nil
	})
}

// deletePod deletes the pod r names, only if it still has r's UID: a pod
// replaced since (same name, new UID) is not this run's to delete. how says
// what came of it.
func deletePod(ctx context.Context, cs kubernetes.Interface, r Ref, grace *int64) (how string, err error) {
	opts := metav1.DeleteOptions{GracePeriodSeconds: grace}
	if r.UID != "" {
		uid := types.UID(r.UID)
		opts.Preconditions = &metav1.Preconditions{UID: &uid}
	}
	err = cs.CoreV1().Pods(r.Namespace).Delete(ctx, r.Name, opts)
	switch {
	case apierrors.IsNotFound(err):
		return "found gone already:", nil
	case apierrors.IsConflict(err):
		return "left alone (replaced by a new pod of that name since it was resolved):", nil
	case err != nil:
		return "", fmt.Errorf("delete %s: %w", r, err)
	}
	if grace != nil && *grace == 0 {
		return "force-deleted", nil
	}
	return "deleted", nil
}

// Rollback implements Fault: a deleted pod is its controller's to bring
// back; the journal entries are marked undone.
func (p *PodDelete) Rollback(ctx context.Context) error { return p.changes.Rollback(ctx) }
