package verify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// ContainerCheck judges the containers a target names at the end of its
// window (just before a fault's rollback; at the very end for recovery and
// run): running, healthy (their Docker healthcheck), and how often their
// restart policy restarted them since the run began.
type ContainerCheck struct {
	Target      targets.Spec `yaml:"target" jsonschema:"description=the containers to judge (service or container or labels): all of them"`
	Running     *bool        `yaml:"running,omitempty" jsonschema:"description=every container is running (true) or not (false)"`
	Healthy     *bool        `yaml:"healthy,omitempty" jsonschema:"description=every container's healthcheck says healthy (true) or not (false)"`
	MaxRestarts *int         `yaml:"max_restarts,omitempty" jsonschema:"description=at most this many restarts (by the restart policy) per container since the run began,minimum=0"`

	resolver targets.Resolver
	st       *containerState
}

// Resolving is implemented by checks that judge targets: the engine hands
// them the run's resolver (Docker for a compose stack).
type Resolving interface {
	UseResolver(r targets.Resolver)
}

// Inspector is the part of the Docker API the container check needs.
type Inspector interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
}

// DockerInspector returns the Docker API the container check uses; tests
// replace it with a fake.
var DockerInspector = func() (Inspector, error) {
	c, err := targets.DockerClient()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// containerState is the container check's run state: restart counts by
// container id, judgements.
type containerState = observed[observation]

// observation is one judgement and when its inspection finished.
type observation struct {
	done   time.Time
	result Result
}

var (
	_ Check     = (*ContainerCheck)(nil)
	_ Sampler   = (*ContainerCheck)(nil)
	_ Resolving = (*ContainerCheck)(nil)
)

// UseResolver implements Resolving.
func (c *ContainerCheck) UseResolver(r targets.Resolver) { c.resolver = r }

// Validate requires a target and something to judge.
func (c *ContainerCheck) Validate() []units.Problem {
	var ps []units.Problem
	if c.Target.Service == "" && c.Target.Container == "" && len(c.Target.Labels) == 0 {
		ps = append(ps, units.Problemf("target", "names no container (valid: one of service, container, labels)"))
	}
	if c.Running == nil && c.Healthy == nil && c.MaxRestarts == nil {
		ps = append(ps, units.Problemf("running", "nothing to judge: set running, healthy or max_restarts"))
	}
	if c.MaxRestarts != nil && *c.MaxRestarts < 0 {
		ps = append(ps, units.Problemf("max_restarts", "%d is negative (valid: 0 or more)", *c.MaxRestarts))
	}
	return ps
}

// ObserveEvery is how often a container check inspects its containers
// while its window is open.
const ObserveEvery = time.Second

// Sample notes restart counts at the first sample, then, while the window
// is open, inspects the containers about every second. The verdict is the
// last inspection that finished inside the window: for a fault, the
// containers as the fault left them, just before the rollback.
func (c *ContainerCheck) Sample(ctx context.Context, now time.Time, w Window) {
	st := lazy(&c.st)
	st.sample(now, w, func() { c.baseline(ctx, st) }, func() (observation, bool) {
		r := c.judge(ctx, st)
		return observation{done: time.Now(), result: r}, true
	})
}

// Evaluate returns the last judgement made inside the window, or judges
// now when there is none (a window shorter than a sample).
func (c *ContainerCheck) Evaluate(ctx context.Context, ev Evidence) Result {
	st := lazy(&c.st)
	st.bg.wait()
	st.mu.Lock()
	seen := st.seen
	st.mu.Unlock()
	for i := len(seen) - 1; i >= 0; i-- {
		if ev.Window.To.IsZero() || seen[i].done.Before(ev.Window.To) {
			return seen[i].result
		}
	}
	return c.judge(ctx, st)
}

func (c *ContainerCheck) baseline(ctx context.Context, st *containerState) {
	cs, err := c.inspect(ctx)
	if err != nil {
		return
	}
	base := map[string]int{}
	for _, x := range cs {
		base[x.ID] = x.RestartCount
	}
	st.mu.Lock()
	st.base = base
	st.mu.Unlock()
}

func (c *ContainerCheck) bound() string {
	var b []string
	if c.Running != nil {
		b = append(b, map[bool]string{true: "running", false: "not running"}[*c.Running])
	}
	if c.Healthy != nil {
		b = append(b, map[bool]string{true: "healthy", false: "not healthy"}[*c.Healthy])
	}
	if c.MaxRestarts != nil {
		b = append(b, fmt.Sprintf("restarts ≤ %d", *c.MaxRestarts))
	}
	return strings.Join(b, ", ")
}

// judge inspects every matching container and compares.
func (c *ContainerCheck) judge(ctx context.Context, st *containerState) Result {
	bound := c.bound()
	cs, err := c.inspect(ctx)
	if err != nil {
		return failed("no containers", bound, "%v", err)
	}
	st.mu.Lock()
	base := st.base
	st.mu.Unlock()
	var measured, bad []string
	for _, x := range cs {
		name := strings.TrimPrefix(x.Name, "/")
		state, health := "gone", "no healthcheck"
		running := false
		if x.State != nil {
			state, running = x.State.Status, x.State.Running && !x.State.Paused
			if x.State.Health != nil {
				health = x.State.Health.Status
			}
		}
		restarts := x.RestartCount - base[x.ID]
		if restarts < 0 { // a manual start resets the count
			restarts = x.RestartCount
		}
		measured = append(measured, fmt.Sprintf("%s %s, %s, %d restarts", name, state, health, restarts))
		switch {
		case c.Running != nil && running != *c.Running:
			bad = append(bad, fmt.Sprintf("%s is %s", name, state))
		case c.Healthy != nil && (health == "healthy") != *c.Healthy:
			bad = append(bad, fmt.Sprintf("%s health is %s", name, health))
		case c.MaxRestarts != nil && restarts > *c.MaxRestarts:
			bad = append(bad, fmt.Sprintf("%s restarted %d times, more than %d", name, restarts, *c.MaxRestarts))
		}
	}
	m := strings.Join(measured, "; ")
	if len(bad) > 0 {
		return failed(m, bound, "%s", strings.Join(bad, "; "))
	}
	return held(m, bound)
}

// inspect resolves the target (stopped containers too, when the resolver
// can) and inspects each match.
func (c *ContainerCheck) inspect(ctx context.Context) ([]container.InspectResponse, error) {
	if c.resolver == nil {
		return nil, fmt.Errorf("container check: no resolver (the run has no Docker stack)")
	}
	api, err := DockerInspector()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resolve := c.resolver.Resolve
	if a, ok := c.resolver.(interface {
		ResolveAll(context.Context, targets.Spec) ([]targets.Target, error)
	}); ok {
		resolve = a.ResolveAll
	}
	ts, err := resolve(ctx, c.Target)
	if err != nil {
		return nil, err
	}
	out := make([]container.InspectResponse, 0, len(ts))
	for _, t := range ts {
		if t.Container == "" {
			return nil, fmt.Errorf("target %s is not a container", t.Name)
		}
		x, err := api.ContainerInspect(ctx, t.Container)
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", t.Name, targets.DockerError(err))
		}
		out = append(out, x)
	}
	return out, nil
}
