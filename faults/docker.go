package faults

import (
	"context"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/chaos-sre/chaos/faults/targets"
)

// ContainerAPI is the part of the Docker Engine API the container faults,
// their undoers and the namespace faults (to find a container's pid) use.
// The Docker client implements it; tests fake it.
type ContainerAPI interface {
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
	ContainerPause(ctx context.Context, id string) error
	ContainerUnpause(ctx context.Context, id string) error
	ContainerKill(ctx context.Context, id, signal string) error
	ContainerStop(ctx context.Context, id string, o container.StopOptions) error
	ContainerStart(ctx context.Context, id string, o container.StartOptions) error
	ContainerRestart(ctx context.Context, id string, o container.StopOptions) error
	ContainerUpdate(ctx context.Context, id string, u container.UpdateConfig) (container.UpdateResponse, error)
	NetworkConnect(ctx context.Context, networkID, containerID string, c *network.EndpointSettings) error
	NetworkDisconnect(ctx context.Context, networkID, containerID string, force bool) error
}

var _ ContainerAPI = (*client.Client)(nil)

// Docker returns the Docker API the container faults use, in this process
// and in `chaos recover`; tests replace it with a fake.
var Docker = func() (ContainerAPI, error) {
	c, err := targets.DockerClient()
	if err != nil {
		return nil, err
	}
	return c, nil
}
