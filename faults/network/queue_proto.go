//go:build linux

package network

import (
	"encoding/binary"
	"syscall"
	"time"
	"unsafe"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// nfnetlink_queue protocol (linux/netfilter/nfnetlink_queue.h): go-nfqueue
// is not served by the Go module proxy here, and the protocol is a handful
// of message shapes on top of mdlayher/netlink.
const (
	nfnlSubsysQueue = 3
	msgPacket       = nfnlSubsysQueue<<8 | 0
	msgVerdict      = nfnlSubsysQueue<<8 | 1
	msgConfig       = nfnlSubsysQueue<<8 | 2
	msgVerdictBatch = nfnlSubsysQueue<<8 | 3 // one verdict for every queued id up to the given one

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
	attrTimestamp  = 4 // {be64 sec, be64 usec}, realtime: when the kernel queued the packet
	attrPayload    = 10
	attrCapLen     = 13

	verdictDrop   = 0
	verdictAccept = 1

	nlaTypeMask = 0x3fff
)

// nfSock is a netfilter netlink socket bound to one queue number. Its
// configuration requests go through mdlayher/netlink (sequence numbers,
// acks, errors); the packet path reads and writes the socket's fd itself,
// many messages per system call and without allocating (see batchReader
// and write).
type nfSock struct {
	c   *netlink.Conn
	rc  syscall.RawConn
	fd  int // for the shaper's own thread: raw reads, ppoll
	num uint16
}

// dialNfSock opens a netfilter netlink socket in ns.
func dialNfSock(ns *NS) (*nfSock, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: ns.Fd()})
	if err != nil {
		return nil, err
	}
	s := &nfSock{c: c}
	if s.rc, err = c.SyscallConn(); err == nil {
		err = s.rc.Control(func(fd uintptr) {
			s.fd = int(fd)
			_ = unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
		})
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetOption(netlink.NoENOBUFS, true)
	return s, nil
}

// config sends config attributes for queue num and waits for the ack.
func (s *nfSock) config(num uint16, encode func(*netlink.AttributeEncoder)) error {
	m, err := configMsg(num, netlink.Request|netlink.Acknowledge, encode)
	if err != nil {
		return err
	}
	_ = s.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	defer s.c.SetReadDeadline(time.Time{})
	_, err = s.c.Execute(m)
	return err
}

// unbind tells the kernel the queue has no consumer any more (no ack).
func (s *nfSock) unbind() {
	m, _ := configMsg(s.num, netlink.Request, func(ae *netlink.AttributeEncoder) {
		ae.Bytes(cfgCmd, []byte{cmdUnbind, 0, 0, unix.AF_INET})
	})
	_, _ = s.c.Send(m)
}

// configMsg is an NFQNL_MSG_CONFIG for queue num: an nfgenmsg (family,
// version, big-endian queue number), then the attributes, whose values are
// big-endian too.
func configMsg(num uint16, flags netlink.HeaderFlags, encode func(*netlink.AttributeEncoder)) (netlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	ae.ByteOrder = binary.BigEndian
	encode(ae)
	attrs, err := ae.Encode()
	return netlink.Message{
		Header: netlink.Header{Type: msgConfig, Flags: flags},
		Data:   append([]byte{unix.AF_UNSPEC, 0, byte(num >> 8), byte(num)}, attrs...),
	}, err
}

func (s *nfSock) close() error { return s.c.Close() }

// send writes one buffer of netlink messages; the kernel handles them in
// order, in this call (a verdict reinjects its packet here).
func (s *nfSock) send(b []byte) error {
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// write is send for the shaper's own thread, without allocating: write(2)
// on a netlink socket goes to the kernel.
func (s *nfSock) write(b []byte) error {
	if _, err := unix.Write(s.fd, b); err != unix.EAGAIN {
		return err
	}
	return s.send(b)
}

// batchReader takes many packet messages per recvmmsg(2): netlink hands out
// one message per recvmsg, so reading them one by one is a system call and
// a scheduler round per packet.
type batchReader struct {
	bufs [][]byte
	iovs []unix.Iovec
	hdrs []unix.Mmsghdr
}

func newBatchReader(n, size int) *batchReader {
	r := &batchReader{bufs: make([][]byte, n), iovs: make([]unix.Iovec, n), hdrs: make([]unix.Mmsghdr, n)}
	for i := range n {
		r.bufs[i] = make([]byte, size)
		r.iovs[i].Base = &r.bufs[i][0]
		r.iovs[i].SetLen(size)
		r.hdrs[i].Hdr.Iov = &r.iovs[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	return r
}

// read takes the messages waiting on fd, without waiting: 0 when there
// are none.
func (r *batchReader) read(fd int) (int, error) {
	got, _, errno := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&r.hdrs[0])),
		uintptr(len(r.hdrs)), unix.MSG_DONTWAIT, 0, 0)
	switch errno {
	case 0:
		return int(got), nil
	case unix.EAGAIN, unix.EINTR, unix.ENOBUFS:
		return 0, nil
	}
	return 0, errno
}

func (r *batchReader) msg(i int) []byte { return r.bufs[i][:min(int(r.hdrs[i].Len), len(r.bufs[i]))] }

// packetMsg is what one NFQNL_MSG_PACKET says.
type packetMsg struct {
	id      uint32
	payload []byte // the copied bytes (copy mode), aliasing the read buffer
	length  int    // the packet's length (CAP_LEN), or len(payload)
	stamp   time.Time
}

// parsePacket reads the attributes of one packet message (after nfgenmsg).
func parsePacket(attrs []byte) packetMsg {
	var m packetMsg
	for len(attrs) >= 4 {
		al := int(binary.NativeEndian.Uint16(attrs[0:2]))
		if al < 4 || al > len(attrs) {
			break
		}
		switch binary.NativeEndian.Uint16(attrs[2:4]) & nlaTypeMask {
		case attrPacketHdr:
			if al >= 8 {
				m.id = binary.BigEndian.Uint32(attrs[4:8])
			}
		case attrPayload:
			m.payload = attrs[4:al]
		case attrCapLen:
			if al >= 8 {
				m.length = int(binary.BigEndian.Uint32(attrs[4:8]))
			}
		case attrTimestamp:
			if al >= 20 {
				sec := int64(binary.BigEndian.Uint64(attrs[4:12]))
				usec := int64(binary.BigEndian.Uint64(attrs[12:20]))
				m.stamp = time.Unix(sec, usec*1000)
			}
		}
		attrs = attrs[align4(al):]
	}
	if m.length == 0 {
		m.length = len(m.payload)
	}
	return m
}

// appendVerdict appends a verdict for one packet, with its replacement
// bytes when payload is not empty.
func appendVerdict(b []byte, num uint16, verdict, id uint32, payload []byte) []byte {
	start := len(b)
	b = nlmsg(b, msgVerdict, unix.NLM_F_REQUEST, 0, num)
	b = appendVerdictHdr(b, verdict, id)
	if len(payload) > 0 {
		b = attr(b, attrPayload, payload)
	}
	return finish(b, start)
}

// appendBatchVerdict appends one verdict for every packet still queued
// with an id up to maxID (NFQNL_MSG_VERDICT_BATCH).
func appendBatchVerdict(b []byte, num uint16, verdict, maxID uint32) []byte {
	start := len(b)
	b = nlmsg(b, msgVerdictBatch, unix.NLM_F_REQUEST, 0, num)
	return finish(appendVerdictHdr(b, verdict, maxID), start)
}

// appendVerdictHdr appends NFQA_VERDICT_HDR {be32 verdict, be32 id}.
func appendVerdictHdr(b []byte, verdict, id uint32) []byte {
	b = binary.NativeEndian.AppendUint16(b, 12)
	b = binary.NativeEndian.AppendUint16(b, attrVerdictHdr)
	b = binary.BigEndian.AppendUint32(b, verdict)
	return binary.BigEndian.AppendUint32(b, id)
}

// nlmsg appends a netlink message header and an nfgenmsg for queue num;
// finish fills in its length.
func nlmsg(b []byte, typ uint16, flags uint16, seq uint32, num uint16) []byte {
	b = append(b, make([]byte, unix.NLMSG_HDRLEN)...)
	h := b[len(b)-unix.NLMSG_HDRLEN:]
	binary.NativeEndian.PutUint16(h[4:6], typ)
	binary.NativeEndian.PutUint16(h[6:8], flags)
	binary.NativeEndian.PutUint32(h[8:12], seq)
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

// finish writes the length of the message that starts at b[start:].
func finish(b []byte, start int) []byte {
	binary.NativeEndian.PutUint32(b[start:start+4], uint32(len(b)-start))
	return b
}

func align4(n int) int { return (n + 3) &^ 3 }
