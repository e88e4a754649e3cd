package container

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/osproc"
	"github.com/chaos-sre/chaos/internal/units"
)

// Kill sends a signal (default KILL) to the target containers: a crashed
// node. With restart (the default) rollback starts the container again.
// Without it the container is left to its restart policy, and the recovery
// phase measures how long the stack takes to heal: the signal then goes to
// the container's main process from the host, since the daemon counts a
// `docker kill` as a manual stop and would not apply the policy.
type Kill struct {
	Signal  string `yaml:"signal,omitempty" json:"signal,omitempty" jsonschema:"enum=KILL,enum=TERM,enum=INT,enum=QUIT,default=KILL"`
	Restart bool   `yaml:"restart,omitempty" json:"restart,omitempty" jsonschema:"description=rollback starts the container again; false leaves it to its restart policy,default=true"`

	changes faults.Changes
}

var _ faults.Fault = (*Kill)(nil)

var killSignals = []string{"KILL", "TERM", "INT", "QUIT"}

// Validate implements Fault.
func (k *Kill) Validate() []units.Problem {
	if !slices.Contains(killSignals, strings.ToUpper(strings.TrimPrefix(k.Signal, "SIG"))) {
		return []units.Problem{units.Problemf("signal", "unknown signal %q (valid: KILL, TERM, INT, QUIT)", k.Signal)}
	}
	return nil
}

// crashData is the journal data of a kill left to the restart policy.
type crashData struct {
	containerRef
	Signal string `json:"signal"`
}

// Inject implements Fault.
func (k *Kill) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("kill", env)
	if err != nil {
		return err
	}
	sig := strings.ToUpper(strings.TrimPrefix(k.Signal, "SIG"))
	for _, t := range env.Targets {
		ref, c, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("kill: %w", err)
		}
		if k.Restart {
			undo := func(ctx context.Context) error { return start(ctx, api, ref) }
			if err := k.changes.Apply(env, containerChange(t, "docker-start", ref, undo), func() error {
				return api.ContainerKill(ctx, ref.ID, sig)
			}); err != nil {
				return fmt.Errorf("kill container %s: %w", t.Name, dockerErr(err))
			}
			fmt.Fprintf(env.Log, "  sent SIG%s to container %s (rollback starts it)\n", sig, t.Name)
			continue
		}
		if c.State.Pid <= 0 || !ownedBy(c.State.Pid, c.ID) {
			return fmt.Errorf("kill container %s with restart: false: its process is not visible from here (the Docker daemon runs elsewhere); use restart: true", t.Name)
		}
		noop := func(context.Context) error { return nil }
		if err := k.changes.Apply(env, containerChange(t, "left-alone", crashData{ref, sig}, noop), func() error {
			return osproc.Signal(c.State.Pid, sig)
		}); err != nil {
			return fmt.Errorf("kill container %s (pid %d): %w", t.Name, c.State.Pid, err)
		}
		fmt.Fprintf(env.Log, "  sent SIG%s to container %s (pid %d; left to its restart policy %q)\n", sig, t.Name, c.State.Pid, policy(c.HostConfig))
	}
	return nil
}

// Rollback implements Fault.
func (k *Kill) Rollback(ctx context.Context) error { return k.changes.Rollback(ctx) }

// ownedBy reports whether pid is in the cgroup of container id, so a pid
// number from a daemon on another host never hits a local process.
func ownedBy(pid int, id string) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	return err == nil && id != "" && strings.Contains(string(b), id)
}
