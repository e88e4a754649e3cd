package container

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/container"

	"github.com/chaos-sre/chaos/internal/units"
)

// Restart restarts the target containers (`docker restart`: stop with a
// grace time, then start): a rolling deploy or a node reboot. The container
// is back on its own; rollback only makes sure it runs.
type Restart struct {
	Grace units.Duration `yaml:"grace,omitempty" json:"grace,omitempty" jsonschema:"description=time between the stop signal and SIGKILL,default=10s"`

	changes faults.Changes
}

var _ faults.Fault = (*Restart)(nil)

// Validate implements Fault.
func (r *Restart) Validate() []units.Problem {
	if r.Grace < 0 {
		return []units.Problem{units.Problemf("grace", "must not be negative (e.g. 10s, or 0s to kill at once)")}
	}
	return nil
}

// Inject implements Fault.
func (r *Restart) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("restart", env)
	if err != nil {
		return err
	}
	secs := int(r.Grace.D().Seconds())
	for _, t := range env.Targets {
		ref, _, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("restart: %w", err)
		}
		undo := func(ctx context.Context) error { return start(ctx, api, ref) }
		if err := r.changes.Apply(env, containerChange(t, "docker-start", ref, undo), func() error {
			return api.ContainerRestart(ctx, ref.ID, container.StopOptions{Timeout: &secs})
		}); err != nil {
			return fmt.Errorf("restart container %s: %w", t.Name, dockerErr(err))
		}
		fmt.Fprintf(env.Log, "  restarted container %s\n", t.Name)
	}
	return nil
}

// Rollback implements Fault.
func (r *Restart) Rollback(ctx context.Context) error { return r.changes.Rollback(ctx) }
