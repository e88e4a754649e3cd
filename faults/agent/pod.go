package agent

import (
	"cmp"
	"slices"
	"strings"
)

// Proc is the process of a pod's container that the agent reaches the pod
// through: its network namespace and its cgroup are the pod's.
type Proc struct {
	Pid   int
	Start uint64 // clock ticks after boot: with Pid, one process for good
	Netns uint64 // the inode of its network namespace
	// ContainerID is the runtime id of its container; Sandbox the pid of
	// the pod's sandbox (pause) process.
	ContainerID string
	Sandbox     int
}

// choose picks, among the processes of pod p found on node (each with its
// container's id), the one of the container p names (ContainerID), or of
// the container that started first; never the pod's sandbox, which
// started before every container of the pod. A pod with no process here
// runs elsewhere, or is another pod (its UID): the request is invalid.
func choose(node string, p Pod, found []Proc) (Proc, error) {
	name := p.Namespace + "/" + p.Name
	if len(found) == 0 {
		return Proc{}, invalidf("pod %s (uid %s) has no process on node %s: it runs on another node, has not started, or its uid is not %s", name, p.UID, node, p.UID)
	}
	first := map[string]Proc{} // the first process of each container
	for _, pr := range found {
		if f, ok := first[pr.ContainerID]; !ok || earlier(pr, f) {
			first[pr.ContainerID] = pr
		}
	}
	byStart := make([]Proc, 0, len(first))
	for _, pr := range first {
		byStart = append(byStart, pr)
	}
	slices.SortFunc(byStart, func(a, b Proc) int {
		if earlier(a, b) {
			return -1
		}
		return 1
	})
	sandbox, containers := byStart[0], byStart[1:]
	var got Proc
	if want := containerID(p.ContainerID); want != "" {
		i := slices.IndexFunc(containers, func(pr Proc) bool { return pr.ContainerID == want })
		if i < 0 {
			return Proc{}, invalidf("container %s (%s) of pod %s has no process on node %s: it is not running (restarting?), or belongs to another pod", orID(p.Container), want, name, node)
		}
		got = containers[i]
	} else {
		if len(containers) == 0 {
			return Proc{}, invalidf("pod %s has no running container on node %s, only its sandbox", name, node)
		}
		got = containers[0]
	}
	if got.Netns != sandbox.Netns {
		return Proc{}, failf(500, "container %s of pod %s is not in its pod's network namespace (net:[%d], the sandbox's is net:[%d])", got.ContainerID, name, got.Netns, sandbox.Netns)
	}
	got.Sandbox = sandbox.Pid
	return got, nil
}

func earlier(a, b Proc) bool {
	return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Pid, b.Pid)) < 0
}

// containerID is a status' containerID without its scheme (containerd://).
func containerID(s string) string {
	if _, id, ok := strings.Cut(s, "://"); ok {
		return id
	}
	return s
}

func orID(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return name
}
