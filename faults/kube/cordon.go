package kube

import (
	"context"

	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Cordon marks nodes unschedulable (`kubectl cordon`): the nodes the target
// pods run on, or node targets. Nothing running moves; new pods go
// elsewhere or stay Pending. Rollback uncordons each node, unless it was
// cordoned before the run (left cordoned), or someone uncordoned it during
// the window.
type Cordon struct {
	settings
}

var _ faults.Fault = (*Cordon)(nil)

// Validate implements Fault.
func (c *Cordon) Validate() []units.Problem { return nil }

// LeaseKeys implements faults.Leaser: the node of the target.
func (c *Cordon) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	return leaseKeys(nodesOf("cordon", []targets.Target{t}))
}

// Preflight implements faults.Preflighter: every node answers, and no
// other run holds one.
func (c *Cordon) Preflight(ctx context.Context, ts []targets.Target) error {
	refs, err := nodesOf("cordon", ts)
	if err != nil {
		return err
	}
	return preflight(ctx, refs)
}

// Inject implements Fault.
func (c *Cordon) Inject(ctx context.Context, env faults.Env) error {
	refs, err := nodesOf("cordon", env.Targets)
	if err != nil {
		return err
	}
	return c.apply(ctx, env, unschedulableSetting("cordon"), "kube-uncordon", refs, jsonOf(true))
}

// Rollback implements Fault.
func (c *Cordon) Rollback(ctx context.Context) error { return c.rollback(ctx) }

// nodesOf is the nodes of the targets, each once.
func nodesOf(kind string, ts []targets.Target) ([]Ref, error) {
	if err := kubeTargets(kind, ts); err != nil {
		return nil, err
	}
	return unique(ts, func(t targets.Target) (Ref, error) { return nodeOf(kind, t) })
}

// uncordon is the undo of a cordon, or of a drain's cordon: whichever
// mark of the fault the node carries.
func uncordon(ctx context.Context, cs kubernetes.Interface, r Ref, run, fault string) error {
	for _, kind := range []string{"cordon", "node-drain"} {
		if err := unschedulableSetting(kind).restore(ctx, cs, r, run, fault); err != nil {
			return err
		}
	}
	return nil
}
