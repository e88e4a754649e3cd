package podproxy

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

// Action is the journal action of a fault an agent applied for a run.
const Action = "agent-fault"

// Held is the journal data of a fault an agent applied to a pod for a run,
// written before the agent is asked: which cluster, which agent (and so
// which node), the target pod, and the DELETE that undoes it.
type Held struct {
	Cluster targets.Cluster `json:"cluster"`
	Server  string          `json:"server"`
	Service Service         `json:"service"`
	Agent   Pod             `json:"agent"`
	Node    string          `json:"node"`
	Target  Pod             `json:"target"`
	ID      string          `json:"id"`
	// Undo is the path DELETEd to undo the fault, e.g. /v1/faults/ID.
	Undo string `json:"undo"`
}

// Held is the record of a fault agent a applies to target under id, undone
// by a DELETE of undo.
func (a *Agent) Held(target Pod, id, undo string) Held {
	return Held{Cluster: a.Cluster, Server: a.Server, Service: a.Service, Agent: a.Pod, Node: a.Node, Target: target, ID: id, Undo: undo}
}

// LeaseKey is the host-wide lease key of the target pod (faults.KubeKey).
func (h Held) LeaseKey() string {
	return PodKey(h.Server, h.Target.Namespace, h.Target.Name)
}

// PodKey is the lease key of a pod of the cluster at server.
func PodKey(server, namespace, name string) string {
	return faults.KubeKey(server, namespace, "pods", name)
}

// Undoers are the offline undoers of the journal actions of this package
// (for `chaos recover`); the registry lists them.
var Undoers = map[string]faults.UndoFunc{
	Action: undoHeld,
}

func undoHeld(ctx context.Context, e journal.Entry) error {
	h, err := faults.Decode[Held](e)
	if err != nil {
		return err
	}
	if e.Key != h.LeaseKey() {
		return &faults.NotSameError{What: "pod " + h.Target.String(), Why: "the entry's lease key is " + e.Key}
	}
	return h.Release(ctx, nil)
}

// Release undoes the fault: a DELETE of h.Undo to the agent that applied
// it, or, when that pod is gone, to the one that runs on its node now (a
// restarted agent undid its journal at start; the DELETE of an ID it does
// not hold is a no-op). With no agent on the node, the fault is gone when
// its target pod is; otherwise it stays until an agent starts there, and
// that is an error.
func (h Held) Release(ctx context.Context, tokens *Tokens) error {
	cs, server, err := connect(h.Cluster)
	if err != nil {
		return err
	}
	if server != h.Server {
		return &faults.NotSameError{What: "pod " + h.Target.String(), Why: fmt.Sprintf("the kubeconfig now names API server %s, the fault was applied through %s", server, h.Server)}
	}
	var a *Agent
	p, err := cs.CoreV1().Pods(h.Agent.Namespace).Get(ctx, h.Agent.Name, metav1.GetOptions{})
	switch {
	case err == nil && string(p.UID) == h.Agent.UID && notReady(*p) == "":
		a, err = h.Service.agent(ctx, cs, h.Cluster, server, *p, tokens)
	case err == nil || apierrors.IsNotFound(err):
		a, err = h.Service.OnNode(ctx, h.Cluster, h.Node, tokens)
	default:
		return fmt.Errorf("read the chaos agent pod %s: %w", h.Agent, err)
	}
	if err != nil {
		if gone, gerr := h.targetGone(ctx); gerr == nil && gone != "" {
			return nil // the fault went with its pod
		}
		return fmt.Errorf("the fault on pod %s stays until a chaos agent runs on node %s again (it undoes what its journal holds when it starts): %w", h.Target, h.Node, err)
	}
	if err := a.Call(ctx, http.MethodDelete, h.Undo, nil, nil); err != nil && !IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("undo fault %s on pod %s: %w", h.ID, h.Target, err)
	}
	return nil
}

// targetGone says why the target pod is no longer the one the fault was
// applied to ("" while it is).
func (h Held) targetGone(ctx context.Context) (string, error) {
	cs, err := Client(h.Cluster)
	if err != nil {
		return "", err
	}
	p, err := cs.CoreV1().Pods(h.Target.Namespace).Get(ctx, h.Target.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "deleted", nil
	case err != nil:
		return "", err
	case h.Target.UID != "" && string(p.UID) != h.Target.UID:
		return "replaced by a pod of the same name", nil
	}
	return "", nil
}
