//go:build linux

package network_test

import (
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// counter counts datagrams arriving at B:port.
func counter(t *testing.T, p *nettest.Pair, port string) func() int {
	t.Helper()
	c, err := nettest.ListenUDP(p.NSB, p.AddrB+":"+port)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	n := make(chan int, 1)
	n <- 0
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			n <- (<-n + 1)
		}
	}()
	return func() int { v := <-n; n <- v; return v }
}

func send(t *testing.T, p *nettest.Pair, port string, count, size int) {
	t.Helper()
	var c *net.UDPConn
	require.NoError(t, p.NSA.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(p.AddrB+":"+port)))
		return err
	}))
	defer c.Close()
	for range count {
		_, err := c.Write(make([]byte, size))
		require.NoError(t, err)
		time.Sleep(200 * time.Microsecond)
	}
}

func withQueue(t *testing.T, p *nettest.Pair, s network.Shape, sc network.Scope) *network.Queue {
	t.Helper()
	q, err := network.OpenQueue(p.NSA, s, 0)
	require.NoError(t, err)
	name := "chaos-test-" + t.Name()
	require.NoError(t, network.AddTable(p.NSA, name, "chaos run test", sc.Rules(network.Verdict{Kind: "queue", Queue: q.Num})))
	t.Cleanup(func() { _ = network.DelTable(p.NSA, name); _ = q.Close() })
	return q
}

func TestQueueDuplicatesEveryPacketOnce(t *testing.T) {
	p := nettest.New(t)
	got := counter(t, p, "9100")
	q := withQueue(t, p, network.Shape{Duplicate: 1}, network.Scope{Egress: true, Proto: unix.IPPROTO_UDP})
	send(t, p, "9100", 20, 100)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, 40, got(), "each datagram twice, the copies not queued again")
	assert.EqualValues(t, 20, q.Stats.Duplicated.Load())
}

func TestQueueCorruptsPackets(t *testing.T) {
	p := nettest.New(t)
	got := counter(t, p, "9101")
	q := withQueue(t, p, network.Shape{Corrupt: 1}, network.Scope{Egress: true, Proto: unix.IPPROTO_UDP})
	send(t, p, "9101", 20, 100)
	time.Sleep(100 * time.Millisecond)
	assert.EqualValues(t, 20, q.Stats.Corrupted.Load())
	assert.Less(t, got(), 20, "a flipped bit fails the UDP checksum (or the header) for some")
}

func TestQueuePacesToARate(t *testing.T) {
	p := nettest.New(t)
	got := counter(t, p, "9102")
	withQueue(t, p, network.Shape{Rate: 100_000, RateQueue: 2 * time.Second}, network.Scope{Egress: true, Port: 9102})
	start := time.Now()
	send(t, p, "9102", 50, 1000) // 50 kB at 100 kB/s: about half a second
	for got() < 50 && time.Since(start) < 3*time.Second {
		time.Sleep(5 * time.Millisecond)
	}
	assert.Equal(t, 50, got())
	assert.Greater(t, time.Since(start), 400*time.Millisecond, "paced, not at line rate")
}

func TestTbfAndPartitionAreRemovedByAnotherProcessView(t *testing.T) {
	p := nettest.New(t)
	links, err := network.Links(p.NSA, "")
	require.NoError(t, err)
	require.Len(t, links, 1, "lo is left alone")
	require.NoError(t, network.AddRootQdisc(p.NSA, links[0], &network.Tbf{Rate: 125000}))
	err = network.AddRootQdisc(p.NSA, links[0], &network.Tbf{Rate: 125000})
	assert.ErrorContains(t, err, "already has a root qdisc", "an existing root qdisc is never replaced")
	sc := network.Scope{Egress: true, Ingress: true, SkipLoopback: true}
	require.NoError(t, network.AddTable(p.NSA, "chaos-test-part", "chaos run test", sc.Rules(network.Verdict{Kind: "drop"})))

	// recover finds the namespace by its inode, even without the pid
	ns, ok, err := network.Find(0, p.NSA.Inode, 0)
	require.NoError(t, err)
	require.True(t, ok)
	defer ns.Close()
	require.NoError(t, network.DelRootQdisc(ns, links[0]))
	require.NoError(t, network.DelTable(ns, "chaos-test-part"))
	require.NoError(t, network.DelRootQdisc(ns, links[0]), "twice is harmless")
	tables, qdiscs, queues, err := nettest.Left(p.NSA)
	require.NoError(t, err)
	assert.Empty(t, append(append(tables, qdiscs...), queues...))

	_, ok, err = network.Find(0, 1, 0)
	assert.NoError(t, err)
	assert.False(t, ok, "a namespace that is gone took its rules with it")
}

func TestNetemProbeLeavesNothing(t *testing.T) {
	nettest.Require(t)
	ok, why := network.NetemAvailable()
	t.Logf("netem: %v (%s)", ok, why)
	assert.NotEmpty(t, why)
}

// A rule with NewOver lets that many connections in at once and resets the
// next; when one closes, another gets in.
func TestConnLimitRule(t *testing.T) {
	p := nettest.New(t)
	ln, err := nettest.ListenTCP(p.NSA, p.AddrA+":9000")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	sc := network.Scope{Ingress: true, Port: 9000, DstPortOnly: true, Proto: unix.IPPROTO_TCP, SkipLoopback: true}
	rules := sc.Rules(network.Verdict{Kind: "reject"})
	for i := range rules {
		rules[i].NewOver = 2
	}
	require.NoError(t, network.AddTable(p.NSA, "chaos-test-connlimit", "chaos run test", rules))
	dial := func() (net.Conn, error) {
		var c net.Conn
		err := p.NSB.Do(func() (err error) {
			c, err = net.DialTimeout("tcp4", p.AddrA+":9000", 2*time.Second)
			return err
		})
		return c, err
	}
	var held []net.Conn
	for range 2 {
		c, err := dial()
		require.NoError(t, err, "within the limit")
		held = append(held, c)
	}
	_, err = dial()
	require.ErrorContains(t, err, "connection refused", "the third is reset")
	require.NoError(t, held[0].Close())
	require.Eventually(t, func() bool {
		c, err := dial()
		if err == nil {
			held = append(held, c)
		}
		return err == nil
	}, 5*time.Second, 100*time.Millisecond, "a closed connection frees its place")
	for _, c := range held[1:] {
		_ = c.Close()
	}
	require.NoError(t, network.DelTable(p.NSA, "chaos-test-connlimit"))
}
