package kube

import (
	"context"
	"errors"

	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Scale sets the Deployments and StatefulSets of the targets (each once,
// however many of its pods are targets) to a replica count for the window:
// 0 takes a service away, 1 leaves it without redundancy. Rollback restores
// the old count, unless someone else (a person, an autoscaler) changed it
// during the window: their count is kept, and the rollback says so.
//
// The count and its mark are written in one merge patch of the workload,
// not through the scale subresource, which cannot carry the annotation:
// one conditional request each way leaves no moment where the count is
// changed and the mark not yet written (or the mark gone and the count
// not yet restored).
type Scale struct {
	Replicas *int32 `yaml:"replicas" json:"replicas" jsonschema:"description=the replica count of each workload while the fault is on (required: 0 takes it away; 1 leaves it no redundancy),minimum=0,maximum=10000"`

	settings
}

var _ faults.Fault = (*Scale)(nil)

// Validate implements Fault.
func (s *Scale) Validate() []units.Problem {
	switch {
	case s.Replicas == nil:
		return []units.Problem{units.Problemf("replicas", "required: the replica count for the window (e.g. replicas: 0 takes the workload away, 1 leaves it no redundancy)")}
	case *s.Replicas < 0 || *s.Replicas > 10000:
		return []units.Problem{units.Problemf("replicas", "%d is out of range (valid: 0 to 10000)", *s.Replicas)}
	}
	return nil
}

func (s *Scale) workloads(ts []targets.Target) ([]Ref, error) {
	if err := kubeTargets("scale", ts); err != nil {
		return nil, err
	}
	return unique(ts, func(t targets.Target) (Ref, error) { return workloadOf("scale", t) })
}

// LeaseKeys implements faults.Leaser: the workload of the target.
func (s *Scale) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	return leaseKeys(s.workloads([]targets.Target{t}))
}

// Preflight implements faults.Preflighter: every workload answers, and no
// other run holds one.
func (s *Scale) Preflight(ctx context.Context, ts []targets.Target) error {
	refs, err := s.workloads(ts)
	if err != nil {
		return err
	}
	return preflight(ctx, refs)
}

// Inject implements Fault.
func (s *Scale) Inject(ctx context.Context, env faults.Env) error {
	if s.Replicas == nil {
		return errors.New("scale: no replicas")
	}
	refs, err := s.workloads(env.Targets)
	if err != nil {
		return err
	}
	return s.apply(ctx, env, replicasSetting("scale"), "kube-replicas", refs, jsonOf(*s.Replicas))
}

// Rollback implements Fault.
func (s *Scale) Rollback(ctx context.Context) error { return s.rollback(ctx) }

// restoreReplicas is the undo of a scale (see setting.restore).
func restoreReplicas(ctx context.Context, cs kubernetes.Interface, r Ref, run, fault string) error {
	return replicasSetting("scale").restore(ctx, cs, r, run, fault)
}
