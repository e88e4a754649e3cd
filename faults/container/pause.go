package container

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/units"
)

// Pause freezes the target containers (cgroup freezer): a hung node — the
// process and its sockets stay, connections are accepted by the kernel, but
// nothing answers. Rollback unpauses.
type Pause struct {
	changes faults.Changes
}

var _ faults.Fault = (*Pause)(nil)

// Validate implements Fault: pause has no parameters.
func (p *Pause) Validate() []units.Problem { return nil }

// Inject implements Fault.
func (p *Pause) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("pause", env)
	if err != nil {
		return err
	}
	for _, t := range env.Targets {
		ref, c, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("pause: %w", err)
		}
		if c.State.Paused {
			return fmt.Errorf("pause container %s: it is already paused, not by this run; refusing to pause it (and so to unpause it at rollback)", t.Name)
		}
		undo := func(ctx context.Context) error { return unpause(ctx, api, ref) }
		if err := p.changes.Apply(env, containerChange(t, "docker-unpause", ref, undo), func() error {
			return api.ContainerPause(ctx, ref.ID)
		}); err != nil {
			return fmt.Errorf("pause container %s: %w", t.Name, dockerErr(err))
		}
		fmt.Fprintf(env.Log, "  paused container %s\n", t.Name)
	}
	return nil
}

// Rollback implements Fault.
func (p *Pause) Rollback(ctx context.Context) error { return p.changes.Rollback(ctx) }
