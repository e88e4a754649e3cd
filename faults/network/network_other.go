//go:build !linux

package network

// The same API as on Linux, for a build that has none of its mechanisms:
// every call that would open a namespace or touch the kernel returns an
// error that wraps ErrNotAvailable, so a run stops at its preflight.

// OpenPid opens the network namespace of process pid (Linux only).
func OpenPid(int) (*NS, error) { return nil, notLinux() }

// Open opens the network namespace bound at path (Linux only).
func Open(string) (*NS, error) { return nil, notLinux() }

// Find reopens a namespace by inode (Linux only). It never reports a
// namespace as gone here: an undo from a Linux journal must not pass for done.
func Find(int, uint64, uint64) (*NS, bool, error) { return nil, false, notLinux() }

// PidInode is the inode of a process's network namespace (Linux only).
func PidInode(int) (uint64, error) { return 0, notLinux() }

// HostInode is the inode of the host's network namespace (Linux only).
func HostInode() (uint64, error) { return 0, notLinux() }

// HasNetAdmin is false: there is no CAP_NET_ADMIN off Linux.
func HasNetAdmin() bool { return false }

// Fd is -1: there is no namespace handle off Linux.
func (n *NS) Fd() int { return -1 }

// Close does nothing.
func (n *NS) Close() error { return nil }

// IsHost is false.
func (n *NS) IsHost() bool { return false }

// Do cannot switch namespaces off Linux.
func (n *NS) Do(func() error) error { return notLinux() }

// AddTable needs nftables (Linux only).
func AddTable(*NS, string, string, []Rule) error { return notLinux() }

// DelTable needs nftables (Linux only).
func DelTable(*NS, string) error { return notLinux() }

// Tables needs nftables (Linux only).
func Tables(*NS) ([]string, error) { return nil, notLinux() }

// NetemAvailable is false off Linux.
func NetemAvailable() (bool, string) { return false, notLinux().Error() }

// Links needs rtnetlink (Linux only).
func Links(*NS, string) ([]string, error) { return nil, notLinux() }

// AddRootQdisc needs tc (Linux only).
func AddRootQdisc(*NS, string, any) error { return notLinux() }

// DelRootQdisc needs tc (Linux only).
func DelRootQdisc(*NS, string) error { return notLinux() }

// OurQdiscs needs tc (Linux only).
func OurQdiscs(*NS) ([]string, error) { return nil, notLinux() }

// Queue is an NFQUEUE consumer; off Linux none can be opened.
type Queue struct {
	Num   uint16
	Stats QueueStats
}

// OpenQueue needs NFQUEUE (Linux only).
func OpenQueue(*NS, Shape, uint32) (*Queue, error) { return nil, notLinux() }

// Close does nothing: no queue was ever opened.
func (q *Queue) Close() error { return nil }

// Cookie is 0: no namespace is ever opened here.
func (n *NS) Cookie() uint64 { return 0 }
