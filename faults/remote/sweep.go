package remote

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// Held is a fault an agent holds, as it lists it.
type Held struct {
	Agent   *podproxy.Agent
	Applied agent.Applied
}

// Expires is when the agent undoes the fault on its own unless renewed;
// the zero time when it does not say.
func (h Held) Expires() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, h.Applied.Expires)
	return t
}

// String names the fault: "net-latency on pod shop/web-0 (fault F of run
// R, id I, held by the chaos agent on node N (pod P))".
func (h Held) String() string {
	return fmt.Sprintf("%s on pod %s/%s (run %s, id %s, held by %s)", h.Applied.Kind, h.Applied.Pod.Namespace, h.Applied.Pod.Name, h.Applied.Run, h.Applied.ID, h.Agent)
}

// Release asks the agent to undo the fault now.
func (h Held) Release(ctx context.Context) error {
	return h.Agent.Call(ctx, http.MethodDelete, agent.PathFaults+"/"+h.Applied.ID, nil, nil)
}

// Sweep asks every ready chaos agent of cluster c what faults it holds,
// ordered by pod and id. notReady lists agent pods that were not asked
// (not running or not ready); err joins the agents that did not answer.
func Sweep(ctx context.Context, c targets.Cluster) (held []Held, notReady []string, err error) {
	agents, notReady, err := Agents.All(ctx, c, &podproxy.Tokens{})
	if err != nil {
		return nil, notReady, err
	}
	var mu sync.Mutex
	err = kclient.Each(ctx, agents, func(ctx context.Context, a *podproxy.Agent) error {
		var got []agent.Applied
		if err := a.Call(ctx, http.MethodGet, agent.PathFaults, nil, &got); err != nil {
			return fmt.Errorf("ask %s what it holds: %w", a, err)
		}
		mu.Lock()
		for _, ap := range got {
			held = append(held, Held{Agent: a, Applied: ap})
		}
		mu.Unlock()
		return nil
	})
	slices.SortFunc(held, func(a, b Held) int {
		ka := a.Applied.Pod.Namespace + "/" + a.Applied.Pod.Name + " " + a.Applied.ID
		kb := b.Applied.Pod.Namespace + "/" + b.Applied.Pod.Name + " " + b.Applied.ID
		return strings.Compare(ka, kb)
	})
	return held, notReady, err
}
