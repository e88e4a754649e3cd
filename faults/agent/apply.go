package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/freezer"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/targets"
)

// answerError is an answer that is not 2xx.
type answerError struct {
	status int
	body   Error
}

func (e *answerError) Error() string { return e.body.Error }

func invalidf(format string, args ...any) *answerError {
	return &answerError{http.StatusBadRequest, Error{Error: fmt.Sprintf(format, args...), Invalid: true}}
}

func failf(status int, format string, args ...any) *answerError {
	return &answerError{status, Error{Error: fmt.Sprintf(format, args...)}}
}

// Alias is the kind an agent applies for a kind that means it on a pod:
// pause (a Docker container's, through the Docker API) is the cgroup
// freezer's freeze on a pod.
var Alias = map[string]string{"pause": "freeze"}

// kindFor is the registry kind the agent applies for name: every kind of
// the network-namespace target type (net-*, partition, dns, conn-limit,
// freeze), and the aliases.
func kindFor(name string) (string, faults.Kind, bool) {
	if a, ok := Alias[name]; ok {
		name = a
	}
	k, ok := kinds.All[name]
	return name, k, ok && k.New != nil && k.Target() == faults.TargetNetns
}

// Kinds are the kind names an agent accepts, sorted.
func Kinds() []string {
	var out []string
	for name := range kinds.All {
		if _, _, ok := kindFor(name); ok {
			out = append(out, name)
		}
	}
	return slices.Sorted(slices.Values(append(out, slices.Collect(maps.Keys(Alias))...)))
}

// check validates a request on its own: ids, pod, lease.
func check(req Request) *answerError {
	switch {
	case req.ID == "" || len(req.ID) > 1024 || strings.ContainsAny(req.ID, "/?#% \t\n"):
		return invalidf("id %q is not a fault id (valid: 1 to 1024 characters, no / ? # %% or spaces)", req.ID)
	case req.Run == "":
		return invalidf("fault %s: no run", req.ID)
	case req.Pod.Namespace == "" || req.Pod.Name == "" || req.Pod.UID == "":
		return invalidf("fault %s: the pod needs namespace, name and uid (got %q/%q uid %q)", req.ID, req.Pod.Namespace, req.Pod.Name, req.Pod.UID)
	case req.LeaseMillis <= 0 || time.Duration(req.LeaseMillis)*time.Millisecond > MaxLease:
		return invalidf("fault %s: lease_ms %d is out of range (valid: 1 to %d)", req.ID, req.LeaseMillis, MaxLease.Milliseconds())
	case req.ForMillis < 0:
		return invalidf("fault %s: for_ms %d is negative (valid: 0 for no bound but the lease, or more)", req.ID, req.ForMillis)
	}
	return nil
}

// decode builds the fault req asks for: its kind, its params decoded with
// the kind's json tags (unknown ones refused) and validated.
func decode(req Request) (string, faults.Fault, *answerError) {
	name, k, ok := kindFor(req.Kind)
	if !ok {
		return "", nil, invalidf("fault %s: the agent does not apply kind %q (valid: %s)", req.ID, req.Kind, strings.Join(Kinds(), ", "))
	}
	f := k.New()
	raw := bytes.TrimSpace(req.Params)
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f); err != nil {
			return "", nil, invalidf("fault %s: params of %s: %v", req.ID, req.Kind, err)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) == nil && m["allow_host"] != nil && string(m["allow_host"]) != "false" {
			return "", nil, invalidf("fault %s: params.allow_host: a fault on a pod never changes its node's network (valid: no allow_host)", req.ID)
		}
	}
	if ps := f.Validate(); len(ps) > 0 {
		msgs := make([]string, len(ps))
		for i, p := range ps {
			msgs[i] = "params." + p.Field + ": " + p.Msg
			if p.Field == "" {
				msgs[i] = "params: " + p.Msg
			}
		}
		return "", nil, invalidf("fault %s: %s", req.ID, strings.Join(msgs, "; "))
	}
	return name, f, nil
}

// same says whether two requests ask for one fault (a retried request).
func same(a, b Request) bool {
	return a.Kind == b.Kind && a.Run == b.Run && a.Pod.Namespace == b.Pod.Namespace && a.Pod.Name == b.Pod.Name &&
		a.Pod.UID == b.Pod.UID && a.Pod.Container == b.Pod.Container && a.Pod.ContainerID == b.Pod.ContainerID &&
		jsonEqual(a.Params, b.Params)
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// apply applies req to its pod and holds it by its lease.
func (a *Agent) apply(ctx context.Context, req Request) (Applied, *answerError) {
	if ae := check(req); ae != nil {
		return Applied{}, ae
	}
	kind, f, ae := decode(req)
	if ae != nil {
		return Applied{}, ae
	}
	a.mu.Lock()
	if h, ok := a.held[req.ID]; ok {
		defer a.mu.Unlock()
		if !same(h.req, req) {
			return Applied{}, failf(http.StatusConflict, "fault %s is held already, with another kind, params or pod", req.ID)
		}
		if !h.applied {
			return Applied{}, failf(http.StatusConflict, "fault %s is being applied by an earlier request", req.ID)
		}
		return h.view(a.o.Node), nil
	}
	for _, h := range a.held {
		if h.req.Pod.UID == req.Pod.UID && h.req.Run != req.Run {
			a.mu.Unlock()
			return Applied{}, failf(http.StatusConflict, "pod %s/%s is in use by run %s (fault %s, %s); this run's fault is not applied", req.Pod.Namespace, req.Pod.Name, h.req.Run, h.req.ID, h.req.Kind)
		}
	}
	if len(a.held) >= MaxHeld {
		a.mu.Unlock()
		return Applied{}, failf(http.StatusServiceUnavailable, "the agent holds %d faults, its most", MaxHeld)
	}
	h := newHeld(req, kind, f, Proc{})
	h.lock()
	a.held[req.ID] = h
	a.mu.Unlock()

	err := a.inject(ctx, h)
	a.mu.Lock()
	deleted := h.taken
	if err == nil && !deleted {
		now := time.Now()
		if req.ForMillis > 0 {
			h.last = now.Add(time.Duration(req.ForMillis+req.LeaseMillis) * time.Millisecond)
		}
		h.extend(now, time.Duration(req.LeaseMillis)*time.Millisecond)
		h.applied = true
	}
	view := h.view(a.o.Node)
	a.mu.Unlock()
	h.unlock()
	if err != nil || deleted {
		// undone here, or by the DELETE that came while it was applied
		uerr := error(nil)
		if a.take(req.ID) == h && h.proc.Pid != 0 { // else the pod was not found: nothing was done
			uerr = a.undo(context.WithoutCancel(ctx), h, because("its apply failed"))
		}
		if err == nil {
			return Applied{}, failf(http.StatusConflict, "fault %s was deleted while it was applied; it is undone", req.ID)
		}
		var ae *answerError
		if errors.As(err, &ae) {
			return Applied{}, ae
		}
		if errors.Is(err, targets.ErrRefused) {
			return Applied{}, invalidf("fault %s: %v", req.ID, err)
		}
		return Applied{}, failf(http.StatusInternalServerError, "fault %s: %v", req.ID, errors.Join(err, uerr))
	}
	a.nudge()
	a.logf("applied %s %s of run %s (fault %q) on pod %s/%s (pid %d) until %s unless renewed: %s", req.Kind, req.ID, req.Run, req.Fault, req.Pod.Namespace, req.Pod.Name, h.proc.Pid, view.Expires, view.Mechanism)
	return view, nil
}

// inject finds the pod's process and injects the fault into it, journaled.
func (a *Agent) inject(ctx context.Context, h *held) error {
	req := h.req
	p, err := a.o.Find(ctx, req.Pod)
	if err != nil {
		var ae *answerError
		if errors.As(err, &ae) {
			return ae
		}
		return fmt.Errorf("find pod %s/%s on node %s: %w", req.Pod.Namespace, req.Pod.Name, a.o.Node, err)
	}
	gone := func() string {
		if NetnsHeld("/proc", p.Netns, p.Pid, p.Sandbox) {
			return ""
		}
		return "its pod is gone from the node (no process holds its network namespace)"
	}
	if h.kind == "freeze" {
		c, err := freezer.Locate(p.Pid)
		if err != nil {
			return fmt.Errorf("freeze pod %s/%s: %w", req.Pod.Namespace, req.Pod.Name, err)
		}
		gone = frozenGone(c)
	}
	seed := fnv.New64a()
	seed.Write([]byte(req.ID))
	env := faults.Env{
		Fault:   req.ID,
		Targets: []targets.Target{{Name: req.Pod.Namespace + "/" + req.Pod.Name, Pid: p.Pid}},
		Journal: a.j,
		Rand:    rand.New(rand.NewPCG(seed.Sum64(), 0x63686173)),
		Log:     a.o.Log,
		For:     time.Duration(req.ForMillis) * time.Millisecond,
	}
	a.mu.Lock()
	h.proc, h.gone = p, gone
	a.mu.Unlock()
	// one inject at a time, as a local run injects one target after the
	// other: faults/network's first NFQUEUE table probes whether the kernel
	// has nft's queue expression, and two at once both fail (ENOENT)
	a.injecting.Lock()
	err = h.fault.Inject(ctx, env)
	a.injecting.Unlock()
	if err != nil {
		return err
	}
	if m, ok := h.fault.(faults.Mechanismer); ok {
		a.mu.Lock()
		h.mechanism = m.Mechanism()
		a.mu.Unlock()
	}
	return nil
}

// frozenGone says when a freeze of cgroup c must go with its pod: no
// process is left in it, or one has a SIGTERM or SIGKILL pending (the
// kubelet stops the pod, or restarts a container whose liveness failed:
// frozen, it never could; runc does not thaw it). When unsure, never.
func frozenGone(c freezer.Cgroup) func() string {
	return func() string {
		if n, err := c.Procs(); err == nil && n == 0 {
			return "its pod is gone from the node (no process left in its cgroup)"
		}
		if stopping, err := c.Stopping(); err == nil && stopping {
			return "its pod is being stopped (SIGTERM or SIGKILL pending on its frozen processes): thawed so that it can stop"
		}
		return ""
	}
}
