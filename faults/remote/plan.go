package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

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
	c := kclient.Absolute(t.Kube.Cluster)
	s, err := kclient.Server(c)
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
