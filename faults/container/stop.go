package container

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/container"

	"github.com/chaos-sre/chaos/internal/units"
)

// Stop stops the target containers the way `docker stop` does (the stop
// signal, then SIGKILL after the grace time): a node taken out cleanly. The
// restart policy leaves a stopped container alone; rollback starts it.
type Stop struct {
	Grace units.Duration `yaml:"grace,omitempty" json:"grace,omitempty" jsonschema:"description=time between the stop signal and SIGKILL,default=10s"`

	changes faults.Changes
}

var _ faults.Fault = (*Stop)(nil)

// Validate implements Fault.
func (s *Stop) Validate() []units.Problem {
	if s.Grace < 0 {
		return []units.Problem{units.Problemf("grace", "must not be negative (e.g. 10s, or 0s to kill at once)")}
	}
	return nil
}

// Inject implements Fault.
func (s *Stop) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("stop", env)
	if err != nil {
		return err
	}
	secs := int(s.Grace.D().Seconds())
	for _, t := range env.Targets {
		ref, _, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("stop: %w", err)
		}
		undo := func(ctx context.Context) error { return start(ctx, api, ref) }
		if err := s.changes.Apply(env, containerChange(t, "docker-start", ref, undo), func() error {
			return api.ContainerStop(ctx, ref.ID, container.StopOptions{Timeout: &secs})
		}); err != nil {
			return fmt.Errorf("stop container %s: %w", t.Name, dockerErr(err))
		}
		fmt.Fprintf(env.Log, "  stopped container %s\n", t.Name)
	}
	return nil
}

// Rollback implements Fault.
func (s *Stop) Rollback(ctx context.Context) error { return s.changes.Rollback(ctx) }
