package run

import (
	"context"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
)

// viaAgent is the fault to bring in for f on its picked targets: in a
// Kubernetes stack, a fault of a kind the chaos agent applies (net-*,
// partition, dns, conn-limit, freeze, pause) aimed at Kubernetes targets is
// sent to the agent on each pod's node (faults/remote), held by the lease
// stack.kubernetes.agent_lease; any other fault is f.Params itself.
func (w *world) viaAgent(exp *experiments.Experiment, f experiments.FaultSpec, picked []targets.Target) faults.Fault {
	if !agentRoutes(exp, f) || w.kube == nil || len(picked) == 0 {
		return f.Params
	}
	for _, t := range picked {
		if t.Kube == nil {
			return f.Params
		}
	}
	return remote.New(f.Kind, f.Params, exp.Stack.Kubernetes.AgentLease.D())
}

// agentRoutes says whether the chaos agent brings f in: a kind it applies,
// aimed at a Kubernetes selector of a Kubernetes stack.
func agentRoutes(exp *experiments.Experiment, f experiments.FaultSpec) bool {
	return exp.Stack.Kubernetes != nil && exp.Stack.Local == nil && targets.IsKube(f.Target) && remote.Routes(f.Kind, kinds.All[f.Kind])
}

// leaseKeys are the keys the run leases before f hits t: the pod, for a
// fault the chaos agent applies; else what the kind changes.
func leaseKeys(ctx context.Context, f *plannedFault, t targets.Target) ([]string, error) {
	if l, ok := f.spec.Params.(*remote.Fault); ok {
		return l.LeaseKeys(ctx, t)
	}
	return faults.LeaseKeys(ctx, kinds.All[f.spec.Kind], t)
}

// agentLine says, in a dry run, which chaos agent would bring a fault in
// on a resolved pod, or why none can.
func agentLine(ctx context.Context, t targets.Target, tokens *podproxy.Tokens) string {
	if t.Kube == nil || t.Kube.Pod == "" {
		return "not usable now: the chaos agent acts inside pods, and this is no pod"
	}
	a, err := remote.Agent(ctx, t, tokens)
	if err != nil {
		return "not usable now: " + err.Error()
	}
	return "through " + a.String()
}
