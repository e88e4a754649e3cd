package network

import (
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// nfnetlink_queue protocol (linux/netfilter/nfnetlink_queue.h). The consumer
// speaks it directly over a netlink socket: go-nfqueue is not served by the
// Go module proxy here, and the protocol is five message shapes.
const (
	nfnlSubsysQueue = 3
	msgPacket       = nfnlSubsysQueue<<8 | 0
	msgVerdict      = nfnlSubsysQueue<<8 | 1
	msgConfig       = nfnlSubsysQueue<<8 | 2

	cfgCmd       = 1
	cfgParams    = 2
	cfgMaxLen    = 3
	cfgMask      = 4
	cfgFlags     = 5
	cmdBind      = 1
	cmdUnbind    = 2
	copyMeta     = 1
	copyPacket   = 2
	flagFailOpen = 1
	flagGSO      = 4

	attrPacketHdr  = 1
	attrVerdictHdr = 2
	attrPayload    = 10
	attrCapLen     = 13

	verdictDrop   = 0
	verdictAccept = 1

	nlaTypeMask = 0x3fff
)

// DupMark marks the copies the duplicator sends, so the queue rules let
// them pass instead of queueing them again.
const DupMark = 0xc4a05

// Shape is what the consumer does to each packet it is given.
type Shape struct {
	Delay       time.Duration // added to every packet
	Jitter      time.Duration // ± uniform around Delay
	Correlation float64       // 0..1: how much each jitter draw follows the last
	Loss        float64       // 0..1: share of packets dropped
	LossCorr    float64       // 0..1
	Duplicate   float64       // 0..1: share of packets sent twice
	Corrupt     float64       // 0..1: share of packets with one bit flipped
	Rate        uint64        // bytes per second, 0: unlimited (a pacer)
	RateQueue   time.Duration // longest wait behind the pacer before a drop (default 200ms)
	Seed        uint64
}

// needsPayload says whether the consumer must see the packet's bytes.
func (s Shape) needsPayload() bool { return s.Duplicate > 0 || s.Corrupt > 0 }

// QueueLen sizes the kernel queue to rate × delay: enough packets in flight
// for pps packets per second held twice the longest delay, plus 4096 for
// bursts (the consumer falls behind under CPU contention).
func (s Shape) QueueLen(pps int) uint32 {
	hold := s.Delay + s.Jitter
	if s.Rate > 0 {
		hold += s.rateQueue()
	}
	n := int(float64(pps)*hold.Seconds()*2) + 4096
	return uint32(min(n, 1<<20))
}

func (s Shape) rateQueue() time.Duration {
	if s.RateQueue > 0 {
		return s.RateQueue
	}
	return 200 * time.Millisecond
}

// QueueStats counts what the consumer did.
type QueueStats struct {
	Seen, Dropped, Duplicated, Corrupted, Held atomic.Uint64
}

// Queue is an NFQUEUE consumer bound to one queue number in one network
// namespace. It fails open: packets pass when it cannot keep up (queue
// full) and, with the rules' bypass flag, when it is gone.
type Queue struct {
	Num   uint16
	Stats QueueStats

	shape Shape
	f     *os.File
	rc    syscall.RawConn
	raw   int // raw socket for duplicates, -1 when none
	seq   atomic.Uint32

	mu      sync.Mutex
	held    heldHeap
	wake    chan struct{}
	closed  chan struct{}
	done    sync.WaitGroup
	rnd     *rand.Rand
	lastJit float64
	lastLos float64
	paceAt  time.Time
	closing atomic.Bool
}

// OpenQueue binds a fresh queue number in ns (the first free one from a
// random start in 32768..65535) and starts consuming it.
func OpenQueue(ns *NS, shape Shape, maxLen uint32) (*Queue, error) {
	if maxLen == 0 {
		maxLen = shape.QueueLen(20000)
	}
	var fd int
	raw := -1
	err := ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER)
		if err != nil {
			return fmt.Errorf("open a netfilter netlink socket: %w", err)
		}
		if shape.Duplicate > 0 {
			raw, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW)
			if err != nil {
				unix.Close(fd)
				return fmt.Errorf("open a raw socket for duplicates: %w", err)
			}
			if err := unix.SetsockoptInt(raw, unix.SOL_SOCKET, unix.SO_MARK, DupMark); err != nil {
				unix.Close(fd)
				unix.Close(raw)
				return fmt.Errorf("mark duplicates: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_NO_ENOBUFS, 1)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	q := &Queue{shape: shape, raw: raw, wake: make(chan struct{}, 1), closed: make(chan struct{}),
		rnd: rand.New(rand.NewPCG(shape.Seed, shape.Seed^0x9e3779b97f4a7c15))}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, err
	}
	q.f = os.NewFile(uintptr(fd), "nfqueue")
	q.rc, _ = q.f.SyscallConn()
	start := uint16(32768 + rand.IntN(32768))
	var bindErr error
	for i := range 64 {
		num := start + uint16(i)
		if num < 32768 {
			num += 32768
		}
		if bindErr = q.config(num, cfgCmd, []byte{cmdBind, 0, 0, unix.AF_INET}); bindErr == nil {
			q.Num = num
			break
		}
		if !errors.Is(bindErr, unix.EPERM) && !errors.Is(bindErr, unix.EBUSY) {
			break
		}
	}
	if bindErr != nil {
		q.closeFds()
		return nil, fmt.Errorf("bind an NFQUEUE queue in %s: %w", ns, bindErr)
	}
	mode, rng, flags := byte(copyMeta), uint32(0), uint32(flagFailOpen|flagGSO)
	if shape.Rate > 0 {
		mode, rng = copyPacket, 64 // headers; the length comes in CAP_LEN
	}
	if shape.needsPayload() {
		mode, rng, flags = copyPacket, 0xffff, flagFailOpen
	}
	params := binary.BigEndian.AppendUint32(nil, rng)
	params = append(params, mode)
	err = errors.Join(
		q.config(q.Num, cfgParams, params),
		q.config(q.Num, cfgMaxLen, binary.BigEndian.AppendUint32(nil, maxLen)),
		q.configFlags(flags),
	)
	if err != nil {
		q.closeFds()
		return nil, fmt.Errorf("configure NFQUEUE %d in %s: %w", q.Num, ns, err)
	}
	q.done.Add(2)
	go q.read()
	go q.release()
	return q, nil
}

func (q *Queue) configFlags(flags uint32) error {
	b := nlmsg(msgConfig, unix.NLM_F_REQUEST|unix.NLM_F_ACK, q.seq.Add(1), q.Num)
	mask := uint32(flagFailOpen | flagGSO)
	b = attr(b, cfgFlags, binary.BigEndian.AppendUint32(nil, flags))
	b = attr(b, cfgMask, binary.BigEndian.AppendUint32(nil, mask))
	return q.roundTrip(finish(b))
}

// config sends one config attribute for queue num and waits for the ack.
func (q *Queue) config(num uint16, typ uint16, data []byte) error {
	b := nlmsg(msgConfig, unix.NLM_F_REQUEST|unix.NLM_F_ACK, q.seq.Add(1), num)
	return q.roundTrip(finish(attr(b, typ, data)))
}

func (q *Queue) roundTrip(msg []byte) error {
	seq := binary.NativeEndian.Uint32(msg[8:12])
	if err := q.send(msg); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	deadline := time.Now().Add(2 * time.Second)
	_ = q.f.SetReadDeadline(deadline)
	defer q.f.SetReadDeadline(time.Time{})
	for {
		n, err := q.recv(buf)
		if err != nil {
			return err
		}
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:6]) == unix.NLMSG_ERROR && binary.NativeEndian.Uint32(b[8:12]) == seq {
				if code := int32(binary.NativeEndian.Uint32(b[16:20])); code != 0 {
					return unix.Errno(-code)
				}
				return nil
			}
			b = b[align4(l):]
		}
	}
}

func (q *Queue) send(b []byte) error {
	var serr error
	err := q.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

func (q *Queue) recv(buf []byte) (int, error) {
	var n int
	var rerr error
	err := q.rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, 0)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

type held struct {
	due     time.Time
	id      uint32
	payload []byte // modified bytes to send back, nil: unchanged
	dup     []byte // a copy to send after the verdict, nil: none
}

type heldHeap []held

func (h heldHeap) Len() int           { return len(h) }
func (h heldHeap) Less(a, b int) bool { return h[a].due.Before(h[b].due) }
func (h heldHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *heldHeap) Push(x any)        { *h = append(*h, x.(held)) }
func (h *heldHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// read takes packets from the kernel and decides each one's fate.
func (q *Queue) read() {
	defer q.done.Done()
	buf := make([]byte, 1<<17)
	var now []held
	for {
		n, err := q.recv(buf)
		if err != nil {
			if errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		now = now[:0]
		for b := buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				break
			}
			if binary.NativeEndian.Uint16(b[4:6]) == msgPacket {
				if h, ok := q.decide(b[unix.NLMSG_HDRLEN+4 : l]); ok {
					now = append(now, h)
				}
			}
			b = b[align4(l):]
		}
		if len(now) > 0 {
			q.verdicts(now)
		}
	}
}

// decide parses one packet message and returns it when its verdict is due
// at once; a held packet goes on the heap.
func (q *Queue) decide(attrs []byte) (held, bool) {
	var id uint32
	var payload []byte
	var length int
	for len(attrs) >= 4 {
		al := int(binary.NativeEndian.Uint16(attrs[0:2]))
		if al < 4 || al > len(attrs) {
			break
		}
		switch binary.NativeEndian.Uint16(attrs[2:4]) & nlaTypeMask {
		case attrPacketHdr:
			id = binary.BigEndian.Uint32(attrs[4:8])
		case attrPayload:
			payload = attrs[4:al]
		case attrCapLen:
			length = int(binary.BigEndian.Uint32(attrs[4:8]))
		}
		attrs = attrs[align4(al):]
	}
	if length == 0 {
		length = len(payload)
	}
	s := &q.shape
	q.Stats.Seen.Add(1)
	h := held{id: id}
	if s.Loss > 0 && q.correlated(&q.lastLos, s.LossCorr, q.rnd.Float64()) < s.Loss {
		q.Stats.Dropped.Add(1)
		return held{id: id, payload: dropMark}, true
	}
	if s.Corrupt > 0 && q.rnd.Float64() < s.Corrupt && len(payload) > 20 {
		p := append([]byte(nil), payload...)
		start := int(p[0]&0x0f) * 4 // keep the IP header: the packet still goes where it went
		if start >= len(p) {
			start = 0
		}
		i := start + q.rnd.IntN(len(p)-start)
		p[i] ^= 1 << q.rnd.IntN(8)
		h.payload = p
		q.Stats.Corrupted.Add(1)
	}
	if s.Duplicate > 0 && q.rnd.Float64() < s.Duplicate && len(payload) >= 20 {
		h.dup = append([]byte(nil), payload...)
	}
	d := s.Delay
	if s.Jitter > 0 {
		r := q.correlated(&q.lastJit, s.Correlation, 2*q.rnd.Float64()-1)
		d += time.Duration(r * float64(s.Jitter))
	}
	due := time.Now().Add(max(d, 0))
	if s.Rate > 0 {
		q.mu.Lock()
		start := due
		if q.paceAt.After(start) {
			start = q.paceAt
		}
		if start.Sub(due) > s.rateQueue() {
			q.mu.Unlock()
			q.Stats.Dropped.Add(1)
			return held{id: id, payload: dropMark}, true
		}
		q.paceAt = start.Add(time.Duration(float64(length) / float64(s.Rate) * float64(time.Second)))
		due = q.paceAt
		q.mu.Unlock()
	}
	if d <= 0 && s.Rate == 0 {
		return h, true
	}
	h.due = due
	q.mu.Lock()
	heap.Push(&q.held, h)
	first := q.held[0].id == id
	q.mu.Unlock()
	q.Stats.Held.Add(1)
	if first {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return held{}, false
}

// dropMark as a held packet's payload means: verdict drop.
var dropMark = []byte{}

// correlated mixes a fresh draw with the last one, as netem does.
func (q *Queue) correlated(last *float64, corr, fresh float64) float64 {
	if corr <= 0 {
		return fresh
	}
	v := corr*(*last) + (1-corr)*fresh
	*last = v
	return v
}

// release hands held packets back when they are due.
func (q *Queue) release() {
	defer q.done.Done()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	var due []held
	for {
		q.mu.Lock()
		now := time.Now()
		due = due[:0]
		for len(q.held) > 0 && !q.held[0].due.After(now) {
			due = append(due, heap.Pop(&q.held).(held))
		}
		var next time.Duration = time.Hour
		if len(q.held) > 0 {
			next = time.Until(q.held[0].due)
		}
		q.mu.Unlock()
		if len(due) > 0 {
			q.verdicts(due)
			continue
		}
		if next < 300*time.Microsecond {
			// The timer's granularity would make this late: spin it out.
			for time.Until(now.Add(next)) > 0 {
			}
			continue
		}
		t.Reset(next - 200*time.Microsecond)
		select {
		case <-t.C:
		case <-q.wake:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		case <-q.closed:
			return
		}
	}
}

// verdicts sends the verdicts of hs in one write, then any duplicates.
func (q *Queue) verdicts(hs []held) {
	buf := make([]byte, 0, len(hs)*32)
	for _, h := range hs {
		v := uint32(verdictAccept)
		if h.payload != nil && len(h.payload) == 0 {
			v = verdictDrop
		}
		m := nlmsg(msgVerdict, unix.NLM_F_REQUEST, 0, q.Num)
		vh := binary.BigEndian.AppendUint32(nil, v)
		vh = binary.BigEndian.AppendUint32(vh, h.id)
		m = attr(m, attrVerdictHdr, vh)
		if len(h.payload) > 0 {
			m = attr(m, attrPayload, h.payload)
		}
		buf = append(buf, finish(m)...)
		if len(buf) > 60000 {
			_ = q.send(buf)
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		_ = q.send(buf)
	}
	for _, h := range hs {
		if h.dup != nil && q.raw >= 0 {
			var dst [4]byte
			copy(dst[:], h.dup[16:20])
			if unix.Sendto(q.raw, h.dup, 0, &unix.SockaddrInet4{Addr: dst}) == nil {
				q.Stats.Duplicated.Add(1)
			}
		}
	}
}

// Close releases every held packet at once (the fault is over), unbinds
// the queue and closes the socket. Call it after the rules are gone.
func (q *Queue) Close() error {
	if !q.closing.CompareAndSwap(false, true) {
		return nil
	}
	q.mu.Lock()
	rest := make([]held, 0, len(q.held))
	for len(q.held) > 0 {
		rest = append(rest, heap.Pop(&q.held).(held))
	}
	q.mu.Unlock()
	if len(rest) > 0 {
		q.verdicts(rest)
	}
	close(q.closed)
	b := nlmsg(msgConfig, unix.NLM_F_REQUEST, q.seq.Add(1), q.Num)
	_ = q.send(finish(attr(b, cfgCmd, []byte{cmdUnbind, 0, 0, unix.AF_INET})))
	err := q.closeFds()
	q.done.Wait()
	return err
}

func (q *Queue) closeFds() error {
	if q.raw >= 0 {
		unix.Close(q.raw)
		q.raw = -1
	}
	return q.f.Close()
}

// nlmsg starts a netlink message with an nfgenmsg header for queue num;
// finish fills in its length.
func nlmsg(typ uint16, flags uint16, seq uint32, num uint16) []byte {
	b := make([]byte, unix.NLMSG_HDRLEN, 64)
	binary.NativeEndian.PutUint16(b[4:6], typ)
	binary.NativeEndian.PutUint16(b[6:8], flags)
	binary.NativeEndian.PutUint32(b[8:12], seq)
	b = append(b, unix.AF_UNSPEC, 0)
	return binary.BigEndian.AppendUint16(b, num)
}

func attr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func finish(b []byte) []byte {
	binary.NativeEndian.PutUint32(b[0:4], uint32(len(b)))
	return b
}

func align4(n int) int { return (n + 3) &^ 3 }
