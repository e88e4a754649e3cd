package container

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/network"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Disconnect takes the target containers off a Docker network (a partition:
// the peers on it cannot be reached, nor resolved by name). Rollback
// reconnects with the same aliases and static addresses, so compose service
// names resolve again.
type Disconnect struct {
	Network string `yaml:"network,omitempty" json:"network,omitempty" jsonschema:"description=the network by its compose name (models) or full name (project_models); empty: every network of the container"`

	changes faults.Changes
}

var _ faults.Fault = (*Disconnect)(nil)

// Validate implements Fault: any network name may exist.
func (d *Disconnect) Validate() []units.Problem { return nil }

// endpoint is the journal data of a disconnect: how to connect back.
type endpoint struct {
	containerRef
	Network string   `json:"network"`
	Aliases []string `json:"aliases,omitempty"`
	IPv4    string   `json:"ipv4,omitempty"`
	IPv6    string   `json:"ipv6,omitempty"`
}

// Inject implements Fault.
func (d *Disconnect) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("disconnect", env)
	if err != nil {
		return err
	}
	for _, t := range env.Targets {
		ref, c, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("disconnect: %w", err)
		}
		var names []string
		if c.NetworkSettings != nil {
			for n := range c.NetworkSettings.Networks {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		project := ""
		if c.Config != nil {
			project = c.Config.Labels[targets.LabelProject]
		}
		var hit []string
		for _, n := range names {
			if d.Network == "" || n == d.Network || (project != "" && n == project+"_"+d.Network) {
				hit = append(hit, n)
			}
		}
		if len(hit) == 0 {
			return fmt.Errorf("disconnect container %s: it is not on network %q (valid: %s)", t.Name, d.Network, strings.Join(names, ", "))
		}
		for _, n := range hit {
			s := c.NetworkSettings.Networks[n]
			ep := endpoint{containerRef: ref, Network: n, Aliases: s.Aliases}
			if s.IPAMConfig != nil {
				ep.IPv4, ep.IPv6 = s.IPAMConfig.IPv4Address, s.IPAMConfig.IPv6Address
			}
			undo := func(ctx context.Context) error { return connect(ctx, api, ep) }
			if err := d.changes.Apply(env, containerChange(t, "docker-connect", ep, undo), func() error {
				return api.NetworkDisconnect(ctx, n, c.ID, true)
			}); err != nil {
				return fmt.Errorf("disconnect container %s from network %s: %w", t.Name, n, dockerErr(err))
			}
			fmt.Fprintf(env.Log, "  disconnected container %s from network %s\n", t.Name, n)
		}
	}
	return nil
}

// Rollback implements Fault.
func (d *Disconnect) Rollback(ctx context.Context) error { return d.changes.Rollback(ctx) }

// connect undoes a disconnect: a container back on the network, or gone,
// is done.
func connect(ctx context.Context, api faults.ContainerAPI, ep endpoint) error {
	c, ok, err := inspectForUndo(ctx, api, ep.containerRef)
	if err != nil || !ok {
		return err
	}
	if c.NetworkSettings != nil && c.NetworkSettings.Networks[ep.Network] != nil {
		return nil
	}
	cfg := &network.EndpointSettings{Aliases: ep.Aliases}
	if ep.IPv4 != "" || ep.IPv6 != "" {
		cfg.IPAMConfig = &network.EndpointIPAMConfig{IPv4Address: ep.IPv4, IPv6Address: ep.IPv6}
	}
	err = api.NetworkConnect(ctx, ep.Network, ep.ID, cfg)
	if err != nil && !gone(err) && !strings.Contains(err.Error(), "already exists") {
		return fmt.Errorf("reconnect container %s to network %s: %w", ep.Name, ep.Network, dockerErr(err))
	}
	return nil
}

func undoConnect(ctx context.Context, e journal.Entry) error {
	ep, err := faults.Decode[endpoint](e)
	if err != nil {
		return err
	}
	if err := leasedBy(e, ep.containerRef); err != nil {
		return err
	}
	api, err := faults.Docker()
	if err != nil {
		return err
	}
	return connect(ctx, api, ep)
}
