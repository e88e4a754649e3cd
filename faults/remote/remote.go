// Package remote is the run's side of the chaos agent (faults/agent): a
// fault of a kind the agent applies (the network-namespace family, and the
// cgroup freezer), aimed at Kubernetes pods, becomes one Fault that asks
// the agent on each pod's node, through the API server's pod proxy, to
// apply it; holds it by a lease it renews every third of the lease; and
// undoes it at rollback. Each request is journaled before it is sent
// (faults/remote/podproxy's agent-fault entry), so `chaos recover` undoes
// what a dead run left, and the agent undoes it on its own once the lease
// runs out.
package remote

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
	"github.com/chaos-sre/chaos/internal/units"
)

// Agents is where the chaos agent runs and how it is called (faults/agent).
var Agents = podproxy.Service{
	Namespace: agent.Namespace,
	Selector:  agent.LabelKey + "=" + agent.LabelValue,
	Port:      agent.Port,
	Secret:    agent.SecretName,
	SecretKey: agent.SecretKey,
	Header:    agent.TokenHeader,
}

// DefaultLease is how long the agent keeps a fault without hearing from the
// run (stack.kubernetes.agent_lease); the run renews every third of it, so
// two renewals in a row may fail before the fault goes early.
const DefaultLease = 15 * time.Second

// MinLease is the shortest lease a run may ask for.
const MinLease = 3 * time.Second

// Routes says whether the chaos agent applies faults of kind (named name)
// to Kubernetes pods: every kind of the network-namespace family, freeze
// (the cgroup freezer), and pause, which the agent takes for freeze on a
// pod (a Docker container's pause goes through the Docker API).
func Routes(name string, k faults.Kind) bool {
	return k.Target() == faults.TargetNetns || name == "freeze" || name == "pause"
}

// Fault is a fault the chaos agent applies: the kind's own parameters
// (decoded, validated) sent to the agent on each target pod's node.
type Fault struct {
	kind  string
	inner faults.Fault
	lease time.Duration

	tokens  podproxy.Tokens
	changes faults.Changes
	renew   renewer

	follows kclient.Ticker // peers resolved again (follow.go)

	mu       sync.Mutex
	agents   map[string]*podproxy.Agent // by API server and node
	mech     string
	placed   []*placed // what the agents hold now, one per target pod
	lastWarn string
}

var (
	_ faults.Fault       = (*Fault)(nil)
	_ faults.Preflighter = (*Fault)(nil)
	_ faults.Mechanismer = (*Fault)(nil)
	_ faults.Leaser      = (*Fault)(nil)
)

// New is the fault of kind with params inner, held by the agent with lease
// (0: DefaultLease).
func New(kind string, inner faults.Fault, lease time.Duration) *Fault {
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Fault{kind: kind, inner: inner, lease: lease}
}

// Validate implements faults.Fault: the kind's own validation.
func (f *Fault) Validate() []units.Problem { return f.inner.Validate() }

// Mechanism implements faults.Mechanismer.
func (f *Fault) Mechanism() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mech
}

// LeaseKeys implements faults.Leaser: the target pod, host-wide.
func (f *Fault) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	p, err := f.pod(t)
	if err != nil {
		return nil, err
	}
	s, err := kclient.Server(kclient.Absolute(t.Kube.Cluster))
	if err != nil {
		return nil, err
	}
	return []string{podproxy.PodKey(s, p.Namespace, p.Name)}, nil
}

// pod is the pod a target is: a target that is no pod (a node, a workload
// with no pod now) or that runs on no node yet cannot be reached.
func (f *Fault) pod(t targets.Target) (podproxy.Pod, error) {
	switch {
	case t.Kube == nil:
		return podproxy.Pod{}, targets.Refusef("%s through the chaos agent: target %s is not a Kubernetes pod", f.kind, t.Name)
	case t.Kube.Pod == "" && t.Kube.Owner != "":
		return podproxy.Pod{}, fmt.Errorf("%s: %s has no pod now: the chaos agent acts inside pods (is it scaled to 0?)", f.kind, t.Name)
	case t.Kube.Pod == "":
		return podproxy.Pod{}, targets.Refusef("%s acts inside a pod, through the chaos agent of its node; %s is not a pod (valid: a target of pod, deployment, statefulset, service, labels or namespace)", f.kind, t.Name)
	case t.Kube.Node == "":
		return podproxy.Pod{}, fmt.Errorf("%s: pod %s/%s is not scheduled on a node yet, so no chaos agent can reach it", f.kind, t.Kube.Namespace, t.Kube.Pod)
	}
	return podproxy.Pod{Namespace: t.Kube.Namespace, Name: t.Kube.Pod, UID: t.Kube.PodUID}, nil
}

// Preflight implements faults.Preflighter: every target is a scheduled pod,
// a chaos agent is ready on each one's node and answers with the Secret's
// token, and the peers resolve.
func (f *Fault) Preflight(ctx context.Context, ts []targets.Target) error {
	plan, err := f.prepare(ctx, ts)
	if err != nil {
		return err
	}
	f.setMechanism(plan, &sync.Map{})
	return kclient.Each(ctx, plan.agentList(), func(ctx context.Context, a *podproxy.Agent) error {
		var held []agent.Applied
		if err := a.Call(ctx, http.MethodGet, agent.PathFaults, nil, &held); err != nil {
			return f.callErr(err, "ask", a)
		}
		return nil
	})
}

// Rollback implements faults.Fault: the peers are no longer followed and
// the renewals stop, then every fault
// the agents took is deleted (a DELETE of one they no longer hold is a
// no-op).
func (f *Fault) Rollback(ctx context.Context) error {
	f.follows.Stop()
	f.renew.stop()
	f.mu.Lock()
	f.placed = nil
	f.mu.Unlock()
	return f.changes.Rollback(ctx)
}
