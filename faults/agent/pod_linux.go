//go:build linux

package agent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults/freezer"
)

// FindPod finds pod p's container process on this node through proc (the
// host's /proc: the agent runs with hostPID). A pod's processes are those
// whose cgroup path has the pod's level (pod<UID> with the cgroupfs driver,
// kubepods-…-pod<UID_>.slice with systemd's) and a container's level below
// it; the container is the one p.ContainerID names, else the first started
// that is not the sandbox.
func FindPod(proc, node string, p Pod) (Proc, error) {
	ents, err := os.ReadDir(proc)
	if err != nil {
		return Proc{}, err
	}
	uids := [][]byte{[]byte(p.UID), []byte(strings.ReplaceAll(p.UID, "-", "_"))}
	var found []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(proc, e.Name(), "cgroup"))
		if err != nil || !(bytes.Contains(b, uids[0]) || bytes.Contains(b, uids[1])) {
			continue
		}
		for _, l := range freezer.ParseCgroup(b) {
			// a path relative to another cgroup namespace ("/../..") still
			// names the pod's and the container's levels
			_, uid, below, ok := freezer.SplitPod(l.Path)
			if !ok || uid != p.UID || len(below) == 0 {
				continue
			}
			pr := Proc{Pid: pid, ContainerID: freezer.ContainerID(below[0])}
			if pr.Start, err = startTime(proc, pid); err != nil {
				break // gone meanwhile
			}
			if pr.Netns, err = netnsOf(proc, pid); err != nil {
				break
			}
			found = append(found, pr)
			break
		}
	}
	return choose(node, p, found)
}

// startTime reads field 22 of proc/PID/stat: when the process started.
func startTime(proc string, pid int) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unreadable %s/%d/stat", proc, pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, fmt.Errorf("short %s/%d/stat", proc, pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// netnsOf reads the inode of a process's network namespace from the link
// proc/PID/ns/net ("net:[4026532248]").
func netnsOf(proc string, pid int) (uint64, error) {
	l, err := os.Readlink(filepath.Join(proc, strconv.Itoa(pid), "ns", "net"))
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutPrefix(l, "net:[")
	if !ok || !strings.HasSuffix(s, "]") {
		return 0, fmt.Errorf("%s/%d/ns/net links to %q", proc, pid, l)
	}
	return strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
}

// NetnsHeld reports whether a process other than this one is in the
// network namespace with inode ino (the hints first: the pod's container
// and sandbox processes). A pod's sandbox holds its namespace for the
// pod's whole life; once no process does, the pod is gone, whoever still
// holds a handle to it. When proc cannot be read it says yes: a pod is
// never given up on a doubt.
func NetnsHeld(proc string, ino uint64, hints ...int) bool {
	for _, pid := range hints {
		if got, err := netnsOf(proc, pid); pid > 0 && err == nil && got == ino {
			return true
		}
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return true
	}
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 || pid == self {
			continue
		}
		if got, err := netnsOf(proc, pid); err == nil && got == ino {
			return true
		}
	}
	return false
}
