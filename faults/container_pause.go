package faults

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/internal/units"
)

// Pause freezes the target containers (cgroup freezer): a hung node — the
// process and its sockets stay, connections are accepted by the kernel, but
// nothing answers. Rollback unpauses.
type Pause struct {
	changes
}

var _ Fault = (*Pause)(nil)

// Validate implements Fault: pause has no parameters.
func (p *Pause) Validate() []units.Problem { return nil }

// Inject implements Fault.
func (p *Pause) Inject(ctx context.Context, env Env) error {
	api, err := containerTargets("pause", env)
	if err != nil {
		return err
	}
	for _, t := range env.Targets {
		ref := containerRef{ID: t.Container, Name: t.Name}
		if err := p.record(env, t.Name, "docker-unpause", ref, func(ctx context.Context) error { return unpause(ctx, api, ref) }); err != nil {
			return err
		}
		if err := api.ContainerPause(ctx, t.Container); err != nil {
			return fmt.Errorf("pause container %s: %w", t.Name, dockerErr(err))
		}
		fmt.Fprintf(env.Log, "  paused container %s\n", t.Name)
	}
	return nil
}

// Rollback implements Fault.
func (p *Pause) Rollback(ctx context.Context) error { return p.rollback(ctx) }
