//go:build linux

package main

import (
	"encoding/binary"
	"net"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// oneWay sends n stamped datagrams from A to a sink in B at pps, paced
// open-loop, and returns each one's one-way delay, -1 when lost. The send
// stamp is taken just before the write, the receive stamp is the kernel's
// (SO_TIMESTAMPNS, when B's socket got it): the sink's own scheduling
// delays are not counted against the shaper. One host, one clock.
func oneWay(p *nettest.Pair, n, pps int) ([]time.Duration, error) {
	sink, err := nettest.ListenUDP(p.NSB, p.AddrB+":0")
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	_ = sink.SetReadBuffer(32 << 20)
	rc, err := sink.SyscallConn()
	if err != nil {
		return nil, err
	}
	_ = rc.Control(func(fd uintptr) { _ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1) })
	var c *net.UDPConn
	if err := p.NSA.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetWriteBuffer(32 << 20)
	got := make([]time.Duration, n)
	for i := range got {
		got[i] = -1
	}
	done := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(done)
		receive(sink, got, sent)
	}()
	send(c, n, pps)
	close(sent)
	<-done
	return got, nil
}

// receive records arrivals until every datagram came or, once the sender
// is done, none came for a second.
func receive(sink *net.UDPConn, got []time.Duration, sent <-chan struct{}) {
	buf := make([]byte, 64)
	oob := make([]byte, 128)
	count := 0
	for count < len(got) {
		_ = sink.SetReadDeadline(time.Now().Add(time.Second))
		k, oobn, _, _, err := sink.ReadMsgUDP(buf, oob)
		if err != nil {
			select {
			case <-sent:
				return
			default:
				continue
			}
		}
		at := time.Now().UnixNano()
		for b := oob[:oobn]; len(b) > 0; { // one message at a time: no allocation per datagram
			h, data, rest, err := unix.ParseOneSocketControlMessage(b)
			if err != nil {
				break
			}
			if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_TIMESTAMPNS && len(data) >= 16 {
				at = int64(binary.NativeEndian.Uint64(data[0:8]))*1e9 + int64(binary.NativeEndian.Uint64(data[8:16]))
			}
			b = rest
		}
		if k < 16 {
			continue
		}
		seq := binary.LittleEndian.Uint64(buf[0:8])
		if seq < uint64(len(got)) && got[seq] < 0 {
			got[seq] = time.Duration(at - int64(binary.LittleEndian.Uint64(buf[8:16])))
			count++
		}
	}
}

// send paces n datagrams at pps on a thread of its own that sleeps with
// a 1 µs timer slack between them (Go's timers would batch them by the
// millisecond; spinning would take a core from the shaper on a small
// machine). Each datagram carries its sequence number and send time.
func send(c *net.UDPConn, n, pps int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var slack uintptr = 50000
	if s, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err == nil {
		slack = uintptr(s)
	}
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1000, 0, 0, 0)
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, slack, 0, 0, 0)
	interval := time.Second / time.Duration(pps)
	buf := make([]byte, 32)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			ts := unix.NsecToTimespec(int64(wait))
			_ = unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &ts, nil)
		}
		binary.LittleEndian.PutUint64(buf[0:8], uint64(i))
		binary.LittleEndian.PutUint64(buf[8:16], uint64(time.Now().UnixNano()))
		_, _ = c.Write(buf)
	}
}
