package container

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	gounits "github.com/docker/go-units"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/container"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/internal/units"
)

// Limits squeezes the target containers' CPU and/or memory (`docker update`):
// a noisy neighbour, a node throttled to a crawl. Rollback restores the
// limits the container had.
type Limits struct {
	CPUs   float64 `yaml:"cpus,omitempty" json:"cpus,omitempty" jsonschema:"description=CPU limit in CPUs e.g. 0.1"`
	Memory string  `yaml:"memory,omitempty" json:"memory,omitempty" jsonschema:"description=memory limit e.g. 64m or 1g (k/m/g suffix; at least 6m)"`

	changes faults.Changes
}

var _ faults.Fault = (*Limits)(nil)

// unlimitedMemory stands for "no limit" on restore: the API reads 0 as "leave
// as is", and the kernel caps this to its own maximum.
const unlimitedMemory = 1 << 62

// Validate implements Fault.
func (l *Limits) Validate() []units.Problem {
	var ps []units.Problem
	if l.CPUs == 0 && l.Memory == "" {
		ps = append(ps, units.Problemf("cpus", "set cpus, memory or both (e.g. cpus: 0.2, memory: 64m)"))
	}
	if l.CPUs < 0 || (l.CPUs > 0 && l.CPUs < 0.01) {
		ps = append(ps, units.Problemf("cpus", "%g is out of range (valid: 0.01 or more)", l.CPUs))
	}
	if l.Memory != "" {
		if b, err := parseBytes(l.Memory); err != nil || b < 6<<20 {
			ps = append(ps, units.Problemf("memory", "%q is not a memory limit (valid: 6m or more, e.g. 64m, 512m, 1g)", l.Memory))
		}
	}
	return ps
}

// resources is the journal data of a limits change: the values to restore.
type resources struct {
	containerRef
	NanoCPUs   int64 `json:"nano_cpus"`
	CPUQuota   int64 `json:"cpu_quota"`
	CPUPeriod  int64 `json:"cpu_period"`
	Memory     int64 `json:"memory"`
	MemorySwap int64 `json:"memory_swap"`
	SetCPU     bool  `json:"set_cpu"`
	SetMemory  bool  `json:"set_memory"`
}

// Inject implements Fault.
func (l *Limits) Inject(ctx context.Context, env faults.Env) error {
	api, err := containerTargets("limits", env)
	if err != nil {
		return err
	}
	mem, _ := parseBytes(l.Memory)
	for _, t := range env.Targets {
		ref, c, err := refOf(ctx, api, t)
		if err != nil {
			return fmt.Errorf("limits: %w", err)
		}
		if c.HostConfig == nil {
			return fmt.Errorf("limits on container %s: no host config", t.Name)
		}
		h := c.HostConfig.Resources
		was := resources{containerRef: ref, NanoCPUs: h.NanoCPUs, CPUQuota: h.CPUQuota,
			CPUPeriod: h.CPUPeriod, Memory: h.Memory, MemorySwap: h.MemorySwap, SetCPU: l.CPUs > 0, SetMemory: mem > 0}
		var u container.UpdateConfig
		if l.CPUs > 0 {
			if h.NanoCPUs > 0 {
				u.NanoCPUs = int64(l.CPUs * 1e9)
			} else {
				u.CPUPeriod, u.CPUQuota = 100_000, int64(l.CPUs*100_000)
			}
		}
		if mem > 0 {
			u.Memory, u.MemorySwap = mem, -1
		}
		undo := func(ctx context.Context) error { return restore(ctx, api, was) }
		if err := l.changes.Apply(env, containerChange(t, "docker-update", was, undo), func() error {
			_, err := api.ContainerUpdate(ctx, c.ID, u)
			return err
		}); err != nil {
			return fmt.Errorf("limits on container %s: %w", t.Name, dockerErr(err))
		}
		fmt.Fprintf(env.Log, "  limited container %s to cpus %g, memory %s\n", t.Name, l.CPUs, cmp.Or(l.Memory, "unchanged"))
	}
	return nil
}

// Rollback implements Fault.
func (l *Limits) Rollback(ctx context.Context) error { return l.changes.Rollback(ctx) }

// restore puts back the limits a container had; a gone container is done,
// and restoring twice sets the same values again.
func restore(ctx context.Context, api faults.ContainerAPI, r resources) error {
	if _, ok, err := inspectForUndo(ctx, api, r.containerRef); err != nil || !ok {
		return err
	}
	var u container.UpdateConfig
	if r.SetCPU {
		if r.NanoCPUs > 0 {
			u.NanoCPUs = r.NanoCPUs
		} else {
			u.CPUPeriod, u.CPUQuota = cmp.Or(r.CPUPeriod, 100_000), cmp.Or(r.CPUQuota, -1)
		}
	}
	if r.SetMemory {
		u.Memory, u.MemorySwap = cmp.Or(r.Memory, unlimitedMemory), cmp.Or(r.MemorySwap, -1)
	}
	if _, err := api.ContainerUpdate(ctx, r.ID, u); err != nil && !gone(err) {
		return fmt.Errorf("restore limits of container %s: %w", r.Name, dockerErr(err))
	}
	return nil
}

func undoUpdate(ctx context.Context, e journal.Entry) error {
	r, err := faults.Decode[resources](e)
	if err != nil {
		return err
	}
	if err := leasedBy(e, r.containerRef); err != nil {
		return err
	}
	api, err := faults.Docker()
	if err != nil {
		return err
	}
	return restore(ctx, api, r)
}

// parseBytes reads 64m, 512k, 1g, 1GiB, 2t, or a plain number of bytes
// (docker's own reading of --memory).
func parseBytes(s string) (int64, error) {
	return gounits.RAMInBytes(strings.TrimSpace(s))
}
