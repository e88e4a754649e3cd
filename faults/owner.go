package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

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
func containerKey(id string) string { return "container:" + id }

func pidKey(pid int, start uint64) string { return fmt.Sprintf("pid:%d:%d", pid, start) }

func netnsKey(inode uint64) string { return "netns:" + strconv.FormatUint(inode, 10) }

func proxyKey(api, route string) string { return "proxy:" + api + "#" + route }

// LeaseKeys are the keys a run leases before a fault of kind k hits t: the
// container or process, its network namespace for the kinds that change one,
// the remote proxy route. Kinds that only send traffic to a target (flood,
// exhaust) and routes of the run's own in-process proxies need none.
func LeaseKeys(ctx context.Context, k Kind, t targets.Target) ([]string, error) {
	if len(k.Targets) == 0 {
		return nil, errors.New("the fault kind names no target type")
	}
	family := k.Targets[0]
	var keys []string
	if r, ok := t.Proxy.(interface {
		Journal(string) map[string]string
	}); ok && family == "proxy" {
		d := r.Journal("")
		keys = append(keys, proxyKey(d["api"], d["route"]))
	}
	if family == "url" || family == "addr" || family == "proxy" {
		return keys, nil
	}
	pid := t.Pid
	if t.Container != "" {
		keys = append(keys, containerKey(t.Container))
		if family == "netns" {
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
		start, err := startTime(pid)
		if err != nil {
			return nil, fmt.Errorf("target %s (pid %d): %w", t.Name, pid, err)
		}
		keys = append(keys, pidKey(pid, start))
	}
	if family == "netns" && pid > 0 {
		var st unix.Stat_t
		if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &st); err != nil {
			return nil, fmt.Errorf("target %s: network namespace of pid %d: %w", t.Name, pid, err)
		}
		keys = append(keys, netnsKey(st.Ino))
	}
	return keys, nil
}

// entryKey is the key a journal entry names for recover: the target's
// identity, "" for changes that live in the chaos process.
func entryKey(t targets.Target) string {
	switch {
	case t.Container != "":
		return containerKey(t.Container)
	case t.Pid > 0:
		if start, err := startTime(t.Pid); err == nil {
			return pidKey(t.Pid, start)
		}
	}
	return ""
}
