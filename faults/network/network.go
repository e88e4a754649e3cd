// Package network brings network faults into a target's network namespace
// without anything inside it: nftables rules (over netlink, one table per
// fault tagged with the run id), an NFQUEUE consumer in this process that
// holds, drops, duplicates, corrupts or paces packets, and tc qdiscs (tbf,
// netem where the kernel has it) over rtnetlink.
//
// Every mechanism here is Linux's. The package builds on every OS with the
// same API; off Linux each call returns an error that wraps ErrNotAvailable,
// and Available says so up front, for a run's preflight.
package network

import (
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/vishvananda/netns"
)

// ErrNotAvailable is wrapped by every error of a mechanism this OS lacks.
var ErrNotAvailable = errors.New("not available on this OS")

// Available says whether network namespace faults can run on this OS: nil
// on Linux, else an error that wraps ErrNotAvailable and names the OS.
func Available() error {
	if runtime.GOOS == "linux" {
		return nil
	}
	return notLinux()
}

func notLinux() error {
	return fmt.Errorf("network faults need Linux (namespaces, nftables, tc, NFQUEUE); this is %s: %w", runtime.GOOS, ErrNotAvailable)
}

// NS is an open network namespace: a handle (file descriptor) to it, and
// the inode that names it across processes (for `chaos recover`).
type NS struct {
	Pid   int    // the process it was found through; 0 for a path
	Inode uint64 // the namespace's inode: /proc/PID/ns/net -> net:[INODE]
	h     netns.NsHandle

	cookieOnce sync.Once
	cookie     uint64
}

// String names the namespace for messages.
func (n *NS) String() string {
	if n.Pid > 0 {
		return fmt.Sprintf("net:[%d] of pid %d", n.Inode, n.Pid)
	}
	return fmt.Sprintf("net:[%d]", n.Inode)
}
