//go:build linux

package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Queue is an NFQUEUE consumer bound to one queue number in one network
// namespace. It fails open: packets pass when it cannot keep up (queue
// full) and, with the rules' bypass flag, when it is gone.
//
// One thread of its own reads packets (many per system call), decides
// their fate, lets them go when due (with a constant delay, in the order
// they came and with one batch verdict for all that are due) and sleeps
// on a timer in between; a packet's delay counts from when the kernel
// queued it.
type Queue struct {
	Num   uint16
	Stats QueueStats

	shape  Shape
	sock   *nfSock
	dup    *duplicator // nil: no duplicates
	stamps int         // a socket with SO_TIMESTAMPNS, -1 when none
	evfd   int         // wakes the thread to close
	base   time.Time   // due times are nanoseconds since base (monotonic)
	mode   holdMode

	// the thread's own
	line    heldLine // modeLine
	heap    heldHeap // modeHeap
	lastDue int64
	wakeLag lagWindow // how late the thread wakes
	rnd     *rand.Rand
	lastJit float64
	lastLos float64
	paceAt  int64

	closing atomic.Bool
	done    sync.WaitGroup
}

// OpenQueue binds a fresh queue number in ns (the first free one from a
// random start in 32768..65535) and starts consuming it.
func OpenQueue(ns *NS, shape Shape, maxLen uint32) (*Queue, error) {
	if maxLen == 0 {
		maxLen = shape.QueueLen(20000)
	}
	q := &Queue{shape: shape, stamps: -1, evfd: -1, base: time.Now(), mode: modeOf(shape),
		rnd: rand.New(rand.NewPCG(shape.Seed, shape.Seed^0x9e3779b97f4a7c15))}
	var err error
	if q.sock, err = dialNfSock(ns); err != nil {
		return nil, fmt.Errorf("open a netfilter netlink socket in %s: %w", ns, err)
	}
	if shape.Duplicate > 0 {
		err = ns.Do(func() (err error) {
			q.dup, err = openDuplicator()
			return err
		})
		if err != nil {
			q.sock.close()
			return nil, err
		}
	}
	if err := q.setup(ns, maxLen); err != nil {
		q.closeFds()
		return nil, err
	}
	q.done.Add(1)
	goThrowaway(q.run)
	return q, nil
}

func (q *Queue) setup(ns *NS, maxLen uint32) error {
	var err error
	if q.evfd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return fmt.Errorf("open an eventfd: %w", err)
	}
	// While any socket asks for receive timestamps the kernel stamps what
	// comes in on an interface, and the queue passes the stamp on.
	if q.stamps, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err == nil {
		_ = unix.SetsockoptInt(q.stamps, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}
	start := uint16(32768 + rand.IntN(32768))
	var bindErr error
	for i := range 64 {
		num := start + uint16(i)
		if num < 32768 {
			num += 32768
		}
		bindErr = q.sock.config(num, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(cfgCmd, []byte{cmdBind, 0, 0, unix.AF_INET})
		})
		if bindErr == nil {
			q.Num, q.sock.num = num, num
			break
		}
		if !errors.Is(bindErr, unix.EPERM) && !errors.Is(bindErr, unix.EBUSY) {
			break
		}
	}
	if bindErr != nil {
		return fmt.Errorf("bind an NFQUEUE queue in %s: %w", ns, bindErr)
	}
	mode, rng, flags := byte(copyMeta), uint32(0), uint32(flagFailOpen|flagGSO)
	if q.shape.Rate > 0 {
		mode, rng = copyPacket, 64 // headers; the length comes in CAP_LEN
	}
	if q.shape.needsPayload() {
		mode, rng, flags = copyPacket, 0xffff, flagFailOpen
	}
	err = errors.Join(
		q.sock.config(q.Num, func(ae *netlink.AttributeEncoder) {
			ae.Bytes(cfgParams, append(binary.BigEndian.AppendUint32(nil, rng), mode))
		}),
		q.sock.config(q.Num, func(ae *netlink.AttributeEncoder) { ae.Uint32(cfgMaxLen, maxLen) }),
		q.sock.config(q.Num, func(ae *netlink.AttributeEncoder) {
			ae.Uint32(cfgFlags, flags)
			ae.Uint32(cfgMask, flagFailOpen|flagGSO)
		}),
	)
	if err != nil {
		return fmt.Errorf("configure NFQUEUE %d in %s: %w", q.Num, ns, err)
	}
	return nil
}

func (q *Queue) now() int64 { return int64(time.Since(q.base)) }

// Close releases every held packet at once (the fault is over), unbinds
// the queue and closes the socket. Call it after the rules are gone.
func (q *Queue) Close() error {
	if !q.closing.CompareAndSwap(false, true) {
		return nil
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(q.evfd, one[:])
	q.done.Wait() // the thread let go of everything held on its way out
	q.sock.unbind()
	return q.closeFds()
}

func (q *Queue) closeFds() error {
	q.dup.close()
	for _, fd := range []int{q.stamps, q.evfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	return q.sock.close()
}
