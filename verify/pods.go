package verify

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// PodsCheck is the container check's Kubernetes counterpart: it judges the
// pods a target selects (a deployment's, a statefulset's, a service's, by
// labels, one pod, or a namespace's) — how many are Ready, and how often
// their containers restarted since the run began. Like the container check
// it looks at them about every second while its window is open, and its
// verdict is the last look inside the window: for a fault, the pods as the
// fault left them, just before its rollback; for recovery or run, at the
// end. With within, ready is judged on the first look inside the window's
// first within that finds enough pods Ready (the time it took is measured),
// and the recovery phase waits for that, up to within.
type PodsCheck struct {
	Target      targets.Spec   `yaml:"target" jsonschema:"description=the pods to judge: deployment or statefulset or service or labels or pod (namespace beside one says where; alone: every pod of it)"`
	Ready       *int           `yaml:"ready,omitempty" jsonschema:"description=at least this many of the pods are Ready (and not terminating),minimum=1"`
	Within      units.Duration `yaml:"within,omitempty" jsonschema:"description=ready is reached within this long of the window's start (e.g. after a fault's rollback: during recovery); default: at the window's end"`
	MaxRestarts *int           `yaml:"max_restarts,omitempty" jsonschema:"description=at most this many container restarts per pod since the run began,minimum=0"`

	kube *targets.Kubernetes
	st   *podsState
}

// KubeChecker is implemented by checks that judge a Kubernetes cluster
// (pods, events): the engine hands them the stack's resolver, which holds
// the cluster's API and the namespace selectors default to.
type KubeChecker interface {
	UseKube(k *targets.Kubernetes)
}

// RecoveryWaiter is a Waiter with something to wait for only when its
// window reaches into the recovery (during: recovery or run): a pods check
// with within on a fault's window is judged before the rollback, so the
// engine neither stretches nor ends the recovery for it.
type RecoveryWaiter interface {
	Waiter
	WaitsInRecoveryOnly()
}

var (
	_ RecoveryWaiter = (*PodsCheck)(nil)
	_ Check          = (*PodsCheck)(nil)
	_ Sampler        = (*PodsCheck)(nil)
	_ Waiter         = (*PodsCheck)(nil)
	_ KubeChecker    = (*PodsCheck)(nil)
)

// podsState is the pods check's run state: restarts by pod UID, looks at
// the pods.
type podsState = observed[podsLook]

// podsLook is one look at the pods, and when it finished.
type podsLook struct {
	done     time.Time
	err      error
	ready    int
	pods     []string // "name (why not ready)" or "name"
	notReady []string
	restarts map[string]int // since the run began, by pod name
}

// UseKube implements KubeChecker.
func (c *PodsCheck) UseKube(k *targets.Kubernetes) { c.kube = k }

// Validate requires one pod selector and something to judge.
func (c *PodsCheck) Validate() []units.Problem {
	ps := podSelectorProblems(c.Target)
	if c.Ready == nil && c.MaxRestarts == nil {
		ps = append(ps, units.Problemf("ready", "nothing to judge: set ready, max_restarts or both"))
	}
	if c.Ready != nil && *c.Ready < 1 {
		ps = append(ps, units.Problemf("ready", "%d pods ready always holds (valid: 1 or more)", *c.Ready))
	}
	if c.MaxRestarts != nil && *c.MaxRestarts < 0 {
		ps = append(ps, units.Problemf("max_restarts", "%d is negative (valid: 0 or more)", *c.MaxRestarts))
	}
	switch {
	case c.Within < 0:
		ps = append(ps, units.Problemf("within", "must not be negative (e.g. 30s)"))
	case c.Within > 0 && c.Ready == nil:
		ps = append(ps, units.Problemf("within", "says how soon ready is reached, and ready is not set (valid: ready: N beside within)"))
	}
	return ps
}

// podSelectorProblems checks the target of a check that judges pods.
func podSelectorProblems(t targets.Spec) []units.Problem {
	const valid = "(valid: one of deployment, statefulset, service, labels, pod; or namespace alone for every pod of it)"
	var set []string
	for _, s := range []struct {
		name string
		on   bool
	}{{"deployment", t.Deployment != ""}, {"statefulset", t.StatefulSet != ""}, {"service", t.Service != ""}, {"labels", len(t.Labels) > 0}, {"pod", t.Pod != ""}} {
		if s.on {
			set = append(set, s.name)
		}
	}
	other := t.Node != "" || t.Container != "" || t.Process != "" || t.Pid != 0 || t.URL != "" || t.Proxy != "" || t.Cmdline != "" || t.Pidfile != "" || t.Port != 0
	switch {
	case other:
		return []units.Problem{units.Problemf("target", "selects something other than pods %s", valid)}
	case len(set) == 0 && t.Namespace == "":
		return []units.Problem{units.Problemf("target", "names no pods %s", valid)}
	case len(set) > 1:
		return []units.Problem{units.Problemf("target."+set[1], "sets both %s and %s %s", set[0], set[1], valid)}
	}
	return nil
}

// WaitsInRecoveryOnly implements RecoveryWaiter.
func (*PodsCheck) WaitsInRecoveryOnly() {}

// Limit is within (and two looks' time) when ready must be reached within
// it, else 0: the check then has nothing to wait for.
func (c *PodsCheck) Limit() time.Duration {
	if c.Within <= 0 || c.Ready == nil {
		return 0
	}
	return c.Within.D() + 2*ObserveEvery
}

// Done is true once a look inside the window found enough pods Ready, the
// window has closed, or within has passed.
func (c *PodsCheck) Done(ev Evidence) bool {
	if c.Limit() == 0 || ev.Window.From.IsZero() {
		return true
	}
	if (!ev.Window.To.IsZero() && !ev.Now.Before(ev.Window.To)) || !ev.Now.Before(ev.Window.From.Add(c.Limit())) {
		return true
	}
	st := lazy(&c.st)
	st.mu.Lock()
	defer st.mu.Unlock()
	for _, l := range st.seen {
		if l.err == nil && !l.done.Before(ev.Window.From) && l.ready >= *c.Ready {
			return true
		}
	}
	return false
}

// Sample notes restart counts at the first sample, then, while the window
// is open, looks at the pods about every second.
func (c *PodsCheck) Sample(ctx context.Context, now time.Time, w Window) {
	st := lazy(&c.st)
	st.sample(now, w, func() { c.baseline(ctx, st) }, func() (podsLook, bool) {
		l := c.look(ctx, st)
		return l, ctx.Err() == nil
	})
}

func (c *PodsCheck) baseline(ctx context.Context, st *podsState) {
	pods, err := c.pods(ctx)
	if err != nil {
		return
	}
	base := map[string]int{}
	for _, p := range pods {
		base[string(p.UID)] = restartsOf(p)
	}
	st.mu.Lock()
	st.base = base
	st.mu.Unlock()
}

func (c *PodsCheck) pods(ctx context.Context) ([]corev1.Pod, error) {
	if c.kube == nil {
		return nil, fmt.Errorf("pods check: no Kubernetes stack (set stack.kubernetes)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return c.kube.Pods(ctx, c.Target)
}

// look lists the pods and notes which are Ready and their restarts.
func (c *PodsCheck) look(ctx context.Context, st *podsState) podsLook {
	pods, err := c.pods(ctx)
	l := podsLook{err: err, restarts: map[string]int{}}
	if err != nil {
		l.done = time.Now()
		return l
	}
	st.mu.Lock()
	base := st.base
	st.mu.Unlock()
	for _, p := range pods {
		if why := podNotReady(p); why != "" {
			l.notReady = append(l.notReady, p.Name+" ("+why+")")
		} else {
			l.ready++
		}
		l.pods = append(l.pods, p.Name)
		r := restartsOf(p)
		if b, ok := base[string(p.UID)]; ok && r >= b {
			r -= b
		}
		if r > 0 {
			l.restarts[p.Name] = r
		}
	}
	l.done = time.Now()
	return l
}

// podNotReady says why a pod does not count as Ready, "" when it does.
func podNotReady(p corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "Terminating"
	case p.Status.Phase != corev1.PodRunning:
		return string(p.Status.Phase)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return ""
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return w.Reason
		}
	}
	return "Running, not Ready"
}

// restartsOf sums the restarts of a pod's containers.
func restartsOf(p corev1.Pod) int {
	n := 0
	for _, cs := range p.Status.ContainerStatuses {
		n += int(cs.RestartCount)
	}
	return n
}
