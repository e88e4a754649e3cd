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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

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
	err = kclient.Each(ctx, plan.byAgent(), func(ctx context.Context, ts []target) error {
		for _, t := range ts {
			if _, err := f.apply(ctx, env, t, &mechs); err != nil {
				return err
			}
		}
		return nil
	})
	f.setMechanism(plan, &mechs)
	if err == nil && namesPeers(f.inner) {
		f.follows.Start(FollowEvery, func(ctx context.Context) { f.follow(ctx, env.Log) })
	}
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
func (f *Fault) apply(ctx context.Context, env faults.Env, t target, mechs *sync.Map) (*placed, error) {
	req, err := f.request(ctx, env, t)
	if err != nil {
		return nil, err
	}
	held := t.agent.Held(t.pod, req.ID, agent.PathFaults+"/"+req.ID)
	ch := faults.Change{Target: t.t.Name, Key: held.LeaseKey(), Action: podproxy.Action, Data: held, Owned: true,
		Undo: func(ctx context.Context) error {
			f.renew.drop(req.ID)
			return held.Release(ctx, &f.tokens)
		}}
	var got agent.Applied
	entry, err := f.changes.ApplyEntry(env, ch, func() error { return t.agent.Call(ctx, http.MethodPost, agent.PathFaults, req, &got) })
	if err != nil {
		return nil, fmt.Errorf("%s on pod %s: %w", f.kind, t.pod, f.callErr(err, "apply it", t.agent))
	}
	f.renew.add(t.agent, req.ID, f.lease, env.Log)
	mechs.Store(t.agent.Node, got.Mechanism)
	fmt.Fprintf(env.Log, "  %s on pod %s by %s (lease %s)%s\n", f.kind, t.pod, t.agent, f.lease, orNothing(": ", got.Mechanism))
	p := &placed{t: t, env: env, id: req.ID, entry: entry}
	f.mu.Lock()
	f.placed = append(f.placed, p)
	f.mu.Unlock()
	return p, nil
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
