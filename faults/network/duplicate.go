//go:build linux

package network

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// duplicator sends copies of queued packets through a raw IPv4 socket in
// the target's namespace. The original goes on with its verdict; the copy
// follows it, marked so the queue rules leave it alone.
type duplicator struct {
	fd int
}

// openDuplicator opens the raw socket; call it inside the namespace.
func openDuplicator() (*duplicator, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
	if err != nil {
		return nil, fmt.Errorf("open a raw socket for duplicates: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_MARK, DupMark); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mark duplicates: %w", err)
	}
	return &duplicator{fd: fd}, nil
}

// send sends one copy of an IPv4 packet (its header included) to the
// packet's own destination; it says whether the copy went out.
func (d *duplicator) send(pkt []byte) bool {
	if d == nil || len(pkt) < 20 {
		return false
	}
	var dst [4]byte
	copy(dst[:], pkt[16:20])
	return unix.Sendto(d.fd, pkt, 0, &unix.SockaddrInet4{Addr: dst}) == nil
}

func (d *duplicator) close() {
	if d != nil {
		unix.Close(d.fd)
	}
}
