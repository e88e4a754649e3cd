package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
)

// NotSameError says an undo found its target replaced: the container was
// recreated, the pid reused, the proxy route renamed. The fault went with
// the old target; the new one is not this run's to touch, so nothing is done.
type NotSameError struct {
	What string // e.g. "pid 4242"
	Why  string // what differs
}

func (e *NotSameError) Error() string {
	return fmt.Sprintf("%s is not the target that was changed (%s); nothing done to it", e.What, e.Why)
}

// IsNotSame reports whether err says the target was replaced.
func IsNotSame(err error) bool {
	var ns *NotSameError
	return errors.As(err, &ns)
}

// Lease keys name a target's identity host-wide. A process is its pid and
// start time, so a reused pid is another key.
// ContainerKey is the lease key of a container.
func ContainerKey(id string) string { return "container:" + id }

// PidKey is the lease key of a process: its pid and start time.
func PidKey(pid int, start uint64) string { return fmt.Sprintf("pid:%d:%d", pid, start) }

// NetnsKey is the lease key of a network namespace: its inode.
func NetnsKey(inode uint64) string { return "netns:" + strconv.FormatUint(inode, 10) }

// ProxyKey is the lease key of a route of a `chaos proxy`.
func ProxyKey(api, route string) string { return "proxy:" + api + "#" + route }

// KubeKey is the lease key of a Kubernetes object: its cluster's API server
// and the object's path there (…/namespaces/NS/deployments/NAME, …/nodes/NAME),
// so two kubeconfigs that reach one cluster lease the same key.
func KubeKey(server, namespace, resource, name string) string {
	if namespace == "" {
		return "kube:" + server + "/" + resource + "/" + name
	}
	return "kube:" + server + "/namespaces/" + namespace + "/" + resource + "/" + name
}

// Leaser is a kind that names the lease keys of what it changes on a target
// itself: a Kubernetes fault changes a pod, its workload or its node,
// depending on its kind.
type Leaser interface {
	LeaseKeys(ctx context.Context, t targets.Target) ([]string, error)
}

// LeaseKeys are the keys a run leases before a fault of kind k hits t: the
// container or process, its network namespace for the kinds that change one,
// the remote proxy route. Kinds that only send traffic to a target (flood,
// exhaust) and routes of the run's own in-process proxies need none.
func LeaseKeys(ctx context.Context, k Kind, t targets.Target) ([]string, error) {
	family := k.Target()
	if family == "" {
		return nil, errors.New("the fault kind names no target type")
	}
	var keys []string
	if r, ok := t.Proxy.(interface {
		Journal(string) map[string]string
	}); ok && family == TargetProxy {
		d := r.Journal("")
		keys = append(keys, ProxyKey(d["api"], d["route"]))
	}
	if family == TargetURL || family == TargetAddr || family == TargetProxy {
		return keys, nil
	}
	if family == TargetKube {
		l, ok := k.New().(Leaser)
		if !ok || t.Kube == nil {
			return nil, fmt.Errorf("target %s: a Kubernetes fault needs a Kubernetes target", t.Name)
		}
		return l.LeaseKeys(ctx, t)
	}
	pid := t.Pid
	if t.Container != "" {
		keys = append(keys, ContainerKey(t.Container))
		if family == TargetNetns {
			api, err := Docker()
			if err != nil {
				return nil, err
			}
			c, err := api.ContainerInspect(ctx, t.Container)
			if err != nil {
				return nil, fmt.Errorf("target %s: inspect container: %w", t.Name, targets.DockerError(err))
			}
			pid = 0
			if c.State != nil {
				pid = c.State.Pid
			}
		}
	} else if pid > 0 {
		start, err := StartTime(pid)
		if err != nil {
			return nil, fmt.Errorf("target %s (pid %d): %w", t.Name, pid, err)
		}
		keys = append(keys, PidKey(pid, start))
	}
	if family == TargetNetns && pid > 0 {
		ino, err := network.PidInode(pid)
		if err != nil {
			return nil, fmt.Errorf("target %s: %w", t.Name, err)
		}
		keys = append(keys, NetnsKey(ino))
	}
	return keys, nil
}

// StartTime reads a process's start time (clock ticks since boot) from
// /proc/PID/stat, field 22: with the pid, it names one process for good.
func StartTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}
