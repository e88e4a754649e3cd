//go:build linux

package network

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// OpenPid opens the network namespace of process pid.
func OpenPid(pid int) (*NS, error) {
	if pid <= 0 {
		return nil, fmt.Errorf("no process to find a network namespace through (pid %d)", pid)
	}
	return openPath("/proc/"+strconv.Itoa(pid)+"/ns/net", pid)
}

// Open opens the network namespace bound at path (e.g. /run/netns/NAME).
func Open(path string) (*NS, error) { return openPath(path, 0) }

func openPath(path string, pid int) (*NS, error) {
	h, err := netns.GetFromPath(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("open network namespace %s: the process is gone", path)
		}
		return nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	ino, err := inodeOf(int(h))
	if err != nil {
		h.Close()
		return nil, err
	}
	return &NS{Pid: pid, Inode: ino, h: h}, nil
}

func inodeOf(fd int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("stat network namespace: %w", err)
	}
	return st.Ino, nil
}

// Fd is the namespace's file descriptor (valid until Close).
func (n *NS) Fd() int { return int(n.h) }

// Handle is the namespace handle for vishvananda/netlink.
func (n *NS) Handle() netns.NsHandle { return n.h }

// Close releases the handle.
func (n *NS) Close() error { return n.h.Close() }

// PidInode is the inode of process pid's network namespace: it names the
// namespace across processes (lease keys, `chaos recover`).
func PidInode(pid int) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/net", &st); err != nil {
		return 0, fmt.Errorf("network namespace of pid %d: %w", pid, err)
	}
	return st.Ino, nil
}

// startInode is the network namespace this process started in, read at
// package init on the main thread before any thread could enter another.
// Not /proc/self later: it follows the main thread, and a goroutine that
// locks the main thread and enters a namespace that dies with it (the
// netem probe) leaves the main thread there for good.
var startInode = func() uint64 {
	var st unix.Stat_t
	if unix.Stat("/proc/self/ns/net", &st) != nil {
		return 0
	}
	return st.Ino
}()

// procDynamicFirst is the first inode the kernel gives a namespace it
// creates (PROC_DYNAMIC_FIRST): one below it is an initial namespace with a
// fixed number, the host's (init_net has one on recent kernels).
const procDynamicFirst = 0xF0000000

// HostInode is the inode of the host's network namespace (that of pid 1),
// or of the one this process started in when pid 1's cannot be read.
func HostInode() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/1/ns/net", &st); err == nil {
		return st.Ino, nil
	}
	if startInode != 0 {
		return startInode, nil
	}
	return 0, errors.New("cannot read the host network namespace (/proc/1/ns/net)")
}

// IsHost reports whether n is the host's namespace: the initial one, pid
// 1's, or the one this process started in.
func (n *NS) IsHost() bool {
	if n.Inode < procDynamicFirst || n.Inode == startInode {
		return true
	}
	var st unix.Stat_t
	return unix.Stat("/proc/1/ns/net", &st) == nil && st.Ino == n.Inode
}

// Cookie is the namespace's cookie (SO_NETNS_COOKIE, Linux 5.14), read
// once from a socket made in it. Its inode only names a namespace while
// it lives: the kernel gives the next namespace it makes the lowest
// inode free, so a container started after another's namespace went
// often gets that inode back within a second. A cookie is never given to
// another namespace. 0 when the kernel has none.
func (n *NS) Cookie() uint64 {
	n.cookieOnce.Do(func() {
		_ = n.Do(func() error {
			fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			n.cookie, err = unix.GetsockoptUint64(fd, unix.SOL_SOCKET, unix.SO_NETNS_COOKIE)
			return err
		})
	})
	return n.cookie
}

// Find reopens the namespace with inode ino for an undo in another process:
// through pid when it still lives there, else through any process or named
// namespace (/run/netns) that holds it. A cookie other than 0 must match
// too: a namespace made since with the same inode is another one. ok is
// false when the namespace is gone, and with it everything the fault put
// into it.
func Find(pid int, ino, cookie uint64) (n *NS, ok bool, err error) {
	try := func(path string, pid int) *NS {
		var st unix.Stat_t
		if unix.Stat(path, &st) != nil || st.Ino != ino {
			return nil
		}
		n, err := openPath(path, pid)
		if err != nil || n.Inode != ino || (cookie != 0 && n.Cookie() != cookie) {
			if n != nil {
				n.Close()
			}
			return nil
		}
		return n
	}
	if pid > 0 {
		if n := try("/proc/"+strconv.Itoa(pid)+"/ns/net", pid); n != nil {
			return n, true, nil
		}
	}
	named, _ := filepath.Glob("/run/netns/*")
	for _, p := range named {
		if n := try(p, 0); n != nil {
			return n, true, nil
		}
	}
	procs, err := filepath.Glob("/proc/[0-9]*/ns/net")
	if err != nil {
		return nil, false, err
	}
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		if n := try(p, pid); n != nil {
			return n, true, nil
		}
	}
	return nil, false, nil
}

// Do runs f on an OS thread switched into n, and switches back. The thread
// is thrown away if switching back fails, so no goroutine ever runs in the
// wrong namespace. Use it only for what needs the thread's namespace
// (creating a socket); netlink handles take the namespace's fd instead.
func (n *NS) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("read this thread's network namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(n.h); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter %s: %w", n, err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it ends with this goroutine.
			errc <- errors.Join(ferr, fmt.Errorf("return from %s: %w", n, err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// HasNetAdmin reports whether this process holds CAP_NET_ADMIN (effective).
func HasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[0].Effective&(1<<unix.CAP_NET_ADMIN) != 0
}
