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
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

	mu     sync.Mutex
	agents map[string]*podproxy.Agent // by API server and node
	mech   string
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
	s, err := podproxy.Server(podproxy.Absolute(t.Kube.Cluster))
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
	return each(ctx, plan.agentList(), func(ctx context.Context, a *podproxy.Agent) error {
		var held []agent.Applied
		if err := a.Call(ctx, http.MethodGet, agent.PathFaults, nil, &held); err != nil {
			return f.callErr(err, "ask", a)
		}
		return nil
	})
}

// Agent finds the chaos agent on target t's node, for a dry run.
func Agent(ctx context.Context, t targets.Target, tokens *podproxy.Tokens) (*podproxy.Agent, error) {
	if t.Kube == nil || t.Kube.Pod == "" || t.Kube.Node == "" {
		return nil, fmt.Errorf("%s is not a scheduled pod", t.Name)
	}
	return Agents.OnNode(ctx, t.Kube.Cluster, t.Kube.Node, tokens)
}

// target is one pod to hit and how.
type target struct {
	t      targets.Target
	pod    podproxy.Pod
	agent  *podproxy.Agent
	params json.RawMessage
}

// plan is every target of an inject or preflight.
type plan []target

func (p plan) agentList() []*podproxy.Agent {
	var out []*podproxy.Agent
	for _, t := range p {
		if !slices.Contains(out, t.agent) {
			out = append(out, t.agent)
		}
	}
	return out
}

// prepare finds every target's pod and agent and resolves its peers (in
// the pod's namespace).
func (f *Fault) prepare(ctx context.Context, ts []targets.Target) (plan, error) {
	var out plan
	params := map[string]json.RawMessage{} // by cluster and namespace
	for _, t := range ts {
		p, err := f.pod(t)
		if err != nil {
			return nil, err
		}
		a, err := f.agentOn(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("%s on pod %s: %w", f.kind, p, err)
		}
		key := a.Server + " " + p.Namespace
		if _, ok := params[key]; !ok {
			cs, err := podproxy.Client(a.Cluster)
			if err != nil {
				return nil, err
			}
			if params[key], err = paramsFor(ctx, cs, p.Namespace, f.inner); err != nil {
				return nil, fmt.Errorf("%s on pod %s: %w", f.kind, p, err)
			}
		}
		out = append(out, target{t: t, pod: p, agent: a, params: params[key]})
	}
	return out, nil
}

// agentOn is the agent of t's node, found once per fault.
func (f *Fault) agentOn(ctx context.Context, t targets.Target) (*podproxy.Agent, error) {
	c := podproxy.Absolute(t.Kube.Cluster)
	s, err := podproxy.Server(c)
	if err != nil {
		return nil, err
	}
	key := s + " " + t.Kube.Node
	f.mu.Lock()
	a, ok := f.agents[key]
	f.mu.Unlock()
	if ok {
		return a, nil
	}
	a, err = Agents.OnNode(ctx, c, t.Kube.Node, &f.tokens)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	if f.agents == nil {
		f.agents = map[string]*podproxy.Agent{}
	}
	f.agents[key] = a
	f.mu.Unlock()
	return a, nil
}

// seq numbers the requests of this process: with the run's id, a fault id
// unique per run, fault and pod.
var seq atomic.Int64

// Inject implements faults.Fault: for each target, journal the fault, then
// ask its node's agent to apply it, then keep its lease renewed.
func (f *Fault) Inject(ctx context.Context, env faults.Env) error {
	if env.Journal == nil {
		return errors.New("no journal: refusing to make an unjournaled change")
	}
	f.mu.Lock()
	f.agents = nil // found again: one may have been replaced since preflight
	f.mu.Unlock()
	plan, err := f.prepare(ctx, env.Targets)
	if err != nil {
		return err
	}
	var mechs sync.Map
	// one request at a time to each agent (an agent applies the kinds of
	// one process, as a local run does: one target after the other), the
	// agents of several nodes at once
	err = each(ctx, plan.byAgent(), func(ctx context.Context, ts []target) error {
		for _, t := range ts {
			if err := f.apply(ctx, env, t, &mechs); err != nil {
				return err
			}
		}
		return nil
	})
	f.setMechanism(plan, &mechs)
	return err
}

// byAgent is the targets of each agent, in order.
func (p plan) byAgent() [][]target {
	var out [][]target
	at := map[*podproxy.Agent]int{}
	for _, t := range p {
		i, ok := at[t.agent]
		if !ok {
			i = len(out)
			at[t.agent] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], t)
	}
	return out
}

// apply journals the fault of one target, asks its agent to apply it, and
// keeps its lease renewed.
func (f *Fault) apply(ctx context.Context, env faults.Env, t target, mechs *sync.Map) error {
	req, err := f.request(ctx, env, t)
	if err != nil {
		return err
	}
	held := t.agent.Held(t.pod, req.ID, agent.PathFaults+"/"+req.ID)
	ch := faults.Change{Target: t.t.Name, Key: held.LeaseKey(), Action: podproxy.Action, Data: held, Owned: true,
		Undo: func(ctx context.Context) error {
			f.renew.drop(req.ID)
			return held.Release(ctx, &f.tokens)
		}}
	var got agent.Applied
	err = f.changes.Apply(env, ch, func() error { return t.agent.Call(ctx, http.MethodPost, agent.PathFaults, req, &got) })
	if err != nil {
		return fmt.Errorf("%s on pod %s: %w", f.kind, t.pod, f.callErr(err, "apply it", t.agent))
	}
	f.renew.add(t.agent, req.ID, f.lease, env.Log)
	mechs.Store(t.agent.Node, got.Mechanism)
	fmt.Fprintf(env.Log, "  %s on pod %s by %s (lease %s)%s\n", f.kind, t.pod, t.agent, f.lease, orNothing(": ", got.Mechanism))
	return nil
}

// request is what the agent is asked for target t: the pod named for good
// (its UID, and the runtime id of its first container the agent finds it by).
func (f *Fault) request(ctx context.Context, env faults.Env, t target) (agent.Request, error) {
	// at most 253 characters: a pod name may be that long; run.N is unique alone
	id := env.Journal.Run() + "." + strconv.FormatInt(seq.Add(1), 10) + "." + t.pod.Name
	req := agent.Request{
		ID:  strings.TrimRight(id[:min(len(id), 253)], "."),
		Run: env.Journal.Run(), Fault: env.Fault, Kind: f.kind, Params: t.params,
		Pod:         agent.Pod{Namespace: t.pod.Namespace, Name: t.pod.Name, UID: t.pod.UID},
		LeaseMillis: f.lease.Milliseconds(), ForMillis: env.For.Milliseconds(),
	}
	cs, err := podproxy.Client(t.agent.Cluster)
	if err != nil {
		return req, err
	}
	p, err := cs.CoreV1().Pods(t.pod.Namespace).Get(ctx, t.pod.Name, metav1.GetOptions{})
	if err != nil {
		return req, fmt.Errorf("%s: read pod %s: %w", f.kind, t.pod, err)
	}
	if t.pod.UID != "" && string(p.UID) != t.pod.UID {
		return req, fmt.Errorf("%s: pod %s was replaced since the run resolved it (uid %s, was %s); nothing done to it", f.kind, t.pod, p.UID, t.pod.UID)
	}
	if p.Spec.NodeName != t.agent.Node {
		return req, fmt.Errorf("%s: pod %s runs on node %s now, not %s", f.kind, t.pod, p.Spec.NodeName, t.agent.Node)
	}
	for _, c := range p.Status.ContainerStatuses {
		if c.Name == p.Spec.Containers[0].Name && c.ContainerID != "" {
			req.Pod.Container, req.Pod.ContainerID = c.Name, c.ContainerID
		}
	}
	return req, nil
}

// callErr says what a failed call to an agent means: the agent found the
// request invalid (an invalid experiment: it matches targets.ErrRefused),
// refused the token, failed, or could not be reached (the environment).
func (f *Fault) callErr(err error, doing string, a *podproxy.Agent) error {
	var ae *podproxy.AnswerError
	if !errors.As(err, &ae) {
		return err
	}
	var body agent.Error
	if json.Unmarshal(ae.Body, &body) != nil || body.Error == "" {
		return err
	}
	switch {
	case body.Invalid:
		return targets.Refusef("%s refused to %s: %s", a, doing, body.Error)
	case ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden:
		return fmt.Errorf("%s refused the token of Secret %s/%s (%s): is the Secret the one the agent reads?", a, Agents.Namespace, Agents.Secret, body.Error)
	}
	return fmt.Errorf("%s could not %s (%d): %s", a, doing, ae.Status, body.Error)
}

func (f *Fault) setMechanism(p plan, mechs *sync.Map) {
	var nodes []string
	var how string
	for _, t := range p {
		if !slices.Contains(nodes, t.agent.Node) {
			nodes = append(nodes, t.agent.Node)
		}
		if m, ok := mechs.Load(t.agent.Node); ok && how == "" {
			how = m.(string)
		}
	}
	f.mu.Lock()
	f.mech = Mechanism(nodes) + orNothing(": ", how)
	f.mu.Unlock()
}

// Mechanism says how a fault reaches pods on nodes, for reports.
func Mechanism(nodes []string) string {
	on := "the pod's node"
	switch {
	case len(nodes) == 1:
		on = "node " + nodes[0]
	case len(nodes) > 1:
		on = "nodes " + strings.Join(first(nodes, 5), ", ")
	}
	return "the chaos agent on " + on + ", through the API server's pod proxy"
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
}

func orNothing(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

// Rollback implements faults.Fault: the renewals stop, then every fault
// the agents took is deleted (a DELETE of one they no longer hold is a
// no-op).
func (f *Fault) Rollback(ctx context.Context) error {
	f.renew.stop()
	return f.changes.Rollback(ctx)
}

// each runs fn on every item with at most kclient.Concurrency in flight
// and returns every error.
func each[T any](ctx context.Context, items []T, fn func(context.Context, T) error) error {
	sem := make(chan struct{}, kclient.Concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
