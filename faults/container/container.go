// Package container is the container family: faults through the Docker
// Engine API (pause, kill, stop, restart, disconnect, limits), one kind per
// file; this file holds what they share: the identity a journal entry keeps
// and the undoers that work from it.
package container

import (
	"context"
	"fmt"
	"strings"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

// containerRef is the journal data of a container change: enough for another
// process to find the container again, and to tell it is the same one (an
// ID with its creation time: a recreated container, or an entry planted
// without the right time, is not acted on).
type containerRef struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

// refOf inspects t's container for the identity its journal entry keeps.
func refOf(ctx context.Context, api faults.ContainerAPI, t targets.Target) (containerRef, container.InspectResponse, error) {
	c, err := api.ContainerInspect(ctx, t.Container)
	if err != nil {
		return containerRef{}, c, fmt.Errorf("inspect container %s: %w", t.Name, dockerErr(err))
	}
	if c.State == nil {
		return containerRef{}, c, fmt.Errorf("inspect container %s: no state", t.Name)
	}
	return containerRef{ID: c.ID, Name: t.Name, Created: c.Created}, c, nil
}

// containerChange is the journal change of one container fault.
func containerChange(t targets.Target, action string, data any, undo func(context.Context) error) faults.Change {
	return faults.Change{Target: t.Name, Key: faults.ContainerKey(t.Container), Action: action, Data: data, Undo: undo}
}

// containerTargets checks that every target is a container and returns the
// Docker API to hit them with.
func containerTargets(kind string, env faults.Env) (faults.ContainerAPI, error) {
	for _, t := range env.Targets {
		if t.Container == "" {
			return nil, fmt.Errorf("%s fault: target %s is not a container (use a compose service, container: or labels: target)", kind, t.Name)
		}
	}
	api, err := faults.Docker()
	if err != nil {
		return nil, fmt.Errorf("%s fault: %w", kind, err)
	}
	return api, nil
}

// gone reports whether err says the container no longer exists: undoing a
// change to it is then already done.
func gone(err error) bool {
	return errdefs.IsNotFound(err) || client.IsErrNotFound(err)
}

// inspectForUndo inspects ref's container; ok is false when it is gone. A
// container that is not the one changed (another creation time) is a
// NotSameError: nothing may be done to it.
func inspectForUndo(ctx context.Context, api faults.ContainerAPI, ref containerRef) (container.InspectResponse, bool, error) {
	if len(ref.ID) != 64 {
		return container.InspectResponse{}, false, &faults.NotSameError{What: "container " + ref.Name, Why: fmt.Sprintf("the journal names %q, not a full container ID", ref.ID)}
	}
	c, err := api.ContainerInspect(ctx, ref.ID)
	if gone(err) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("inspect container %s: %w", ref.Name, targets.DockerError(err))
	}
	if c.ID != ref.ID || c.Created != ref.Created {
		return c, false, &faults.NotSameError{What: "container " + ref.Name + " (" + ref.ID[:12] + ")", Why: fmt.Sprintf("created %s, the journal says %q", c.Created, ref.Created)}
	}
	return c, c.State != nil, nil
}

// unpause undoes a pause: a container no longer paused (or gone) is done.
func unpause(ctx context.Context, api faults.ContainerAPI, ref containerRef) error {
	c, ok, err := inspectForUndo(ctx, api, ref)
	if err != nil || !ok || !c.State.Paused {
		return err
	}
	if err := api.ContainerUnpause(ctx, ref.ID); err != nil && !gone(err) && !strings.Contains(err.Error(), "is not paused") {
		return fmt.Errorf("unpause container %s: %w", ref.Name, targets.DockerError(err))
	}
	return nil
}

// start undoes a stop or kill: a running, restarting (its restart policy is
// on it) or removed container is done.
func start(ctx context.Context, api faults.ContainerAPI, ref containerRef) error {
	c, ok, err := inspectForUndo(ctx, api, ref)
	if err != nil || !ok || c.State.Running || c.State.Restarting {
		return err
	}
	if err := api.ContainerStart(ctx, ref.ID, container.StartOptions{}); err != nil && !gone(err) {
		return fmt.Errorf("start container %s: %w", ref.Name, targets.DockerError(err))
	}
	return nil
}

func offlineDocker(f func(context.Context, faults.ContainerAPI, containerRef) error) faults.UndoFunc {
	return func(ctx context.Context, e journal.Entry) error {
		ref, err := faults.Decode[containerRef](e)
		if err != nil {
			return err
		}
		if err := leasedBy(e, ref); err != nil {
			return err
		}
		api, err := faults.Docker()
		if err != nil {
			return err
		}
		return f(ctx, api, ref)
	}
}

// Undoers are the offline undoers of the container faults' journal actions
// (for `chaos recover`); the registry lists them.
var Undoers = map[string]faults.UndoFunc{
	"docker-unpause": offlineDocker(unpause), // pause
	"docker-start":   offlineDocker(start),   // stop, kill, restart
	"docker-connect": undoConnect,            // disconnect
	"docker-update":  undoUpdate,             // limits
	"left-alone":     leftAlone,              // a kill left to the restart policy
}

// leftAlone is the undoer of a change the experiment leaves to something
// else (a kill left to the restart policy): nothing to undo.
func leftAlone(context.Context, journal.Entry) error { return nil }

func dockerErr(err error) error { return targets.DockerError(err) }

func policy(h *container.HostConfig) string {
	if h == nil || h.RestartPolicy.Name == "" {
		return "no"
	}
	return string(h.RestartPolicy.Name)
}

// leasedBy checks that an entry names the container its lease key names.
func leasedBy(e journal.Entry, ref containerRef) error {
	if e.Key != faults.ContainerKey(ref.ID) {
		return &faults.NotSameError{What: "container " + ref.Name, Why: "the entry's lease key is " + e.Key}
	}
	return nil
}
