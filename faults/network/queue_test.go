//go:build linux

package network_test

import (
	"net"
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// rtts sends n datagrams from A to B's echo one at a time and returns the
// round trips (lost ones as 0).
func rtts(t *testing.T, p *nettest.Pair, port string, n int) []time.Duration {
	t.Helper()
	var c *net.UDPConn
	require.NoError(t, p.NSA.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(p.AddrB+":"+port)))
		return err
	}))
	defer c.Close()
	out := make([]time.Duration, 0, n)
	buf := make([]byte, 64)
	for range n {
		start := time.Now()
		_, err := c.Write([]byte("ping"))
		require.NoError(t, err)
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Read(buf); err != nil {
			out = append(out, 0)
			continue
		}
		out = append(out, time.Since(start))
	}
	return out
}

func echo(t *testing.T, p *nettest.Pair, port string) {
	t.Helper()
	c, err := nettest.ListenUDP(p.NSB, p.AddrB+":"+port)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	go nettest.Echo(c)
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(a, b int) bool { return s[a] < s[b] })
	return s[len(s)/2]
}

func TestQueueDelaysOnlyTheScopedPeerAndPort(t *testing.T) {
	p := nettest.New(t)
	echo(t, p, "9000")
	echo(t, p, "9001")
	q, err := network.OpenQueue(p.NSA, network.Shape{Delay: 30 * time.Millisecond}, 0)
	require.NoError(t, err)
	defer q.Close()
	scope := network.Scope{Egress: true, Nets: []netip.Prefix{netip.MustParsePrefix(p.AddrB + "/32")}, Port: 9000}
	require.NoError(t, network.AddTable(p.NSA, "chaos-test-1", "chaos run test", scope.Rules(network.Verdict{Kind: "queue", Queue: q.Num})))
	slow := median(rtts(t, p, "9000", 10))
	fast := median(rtts(t, p, "9001", 10))
	assert.InDelta(t, 30, float64(slow)/1e6, 3, "port 9000 is delayed 30ms, got %s", slow)
	assert.Less(t, fast, 5*time.Millisecond, "port 9001 is not delayed")
	require.NoError(t, network.DelTable(p.NSA, "chaos-test-1"))
	assert.Less(t, median(rtts(t, p, "9000", 5)), 5*time.Millisecond, "gone with the table")
	require.NoError(t, network.DelTable(p.NSA, "chaos-test-1"), "deleting twice is success")
	tables, err := network.Tables(p.NSA)
	require.NoError(t, err)
	assert.Empty(t, tables)
}

func TestQueueDropsDuplicatesAndFailsOpen(t *testing.T) {
	p := nettest.New(t)
	echo(t, p, "9000")
	q, err := network.OpenQueue(p.NSA, network.Shape{Loss: 1}, 0)
	require.NoError(t, err)
	scope := network.Scope{Egress: true, Proto: unix.IPPROTO_UDP}
	require.NoError(t, network.AddTable(p.NSA, "chaos-test-2", "chaos run test", scope.Rules(network.Verdict{Kind: "queue", Queue: q.Num})))
	for _, d := range rtts(t, p, "9000", 3) {
		assert.Zero(t, d, "every packet dropped")
	}
	require.NoError(t, q.Close())
	for _, d := range rtts(t, p, "9000", 3) {
		assert.NotZero(t, d, "no consumer: the rule's bypass lets packets through")
	}
	require.NoError(t, network.DelTable(p.NSA, "chaos-test-2"))
}

// With one delay for all, packets leave in batches (one verdict for every
// id up to the last due); a dropped packet among them must stay dropped.
func TestQueueBatchVerdictKeepsDrops(t *testing.T) {
	p := nettest.New(t)
	got := counter(t, p, "9103")
	q := withQueue(t, p, network.Shape{Delay: 5 * time.Millisecond, Loss: 0.5, Seed: 7},
		network.Scope{Egress: true, Port: 9103})
	send(t, p, "9103", 200, 100)
	require.Eventually(t, func() bool { return uint64(got()) >= q.Stats.Seen.Load()-q.Stats.Dropped.Load() },
		5*time.Second, 20*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	assert.EqualValues(t, 200, q.Stats.Seen.Load())
	assert.Greater(t, q.Stats.Dropped.Load(), uint64(50), "about half dropped")
	assert.EqualValues(t, 200-q.Stats.Dropped.Load(), got(), "exactly the others delivered")
}

// Packets that came in on an interface carry the kernel's stamp of when
// it queued them, and the shaper times them from it.
func TestQueueTimesIngressFromTheKernelStamp(t *testing.T) {
	p := nettest.New(t)
	got := counter(t, p, "9104")
	q, err := network.OpenQueue(p.NSB, network.Shape{Delay: 2 * time.Millisecond}, 0)
	require.NoError(t, err)
	sc := network.Scope{Ingress: true, Port: 9104}
	require.NoError(t, network.AddTable(p.NSB, "chaos-test-stamp", "chaos run test", sc.Rules(network.Verdict{Kind: "queue", Queue: q.Num})))
	t.Cleanup(func() { _ = network.DelTable(p.NSB, "chaos-test-stamp"); _ = q.Close() })
	// The kernel turns stamping on in deferred work after the first socket
	// asks for it, so the packets of the first moments may come unstamped
	// (the shaper then times them from when it read them). Wait for it.
	warm := 0
	require.Eventually(t, func() bool {
		send(t, p, "9104", 1, 100)
		warm++
		return q.Stats.Stamped.Load() > 0
	}, 5*time.Second, 20*time.Millisecond, "the kernel never stamped an incoming packet")
	require.Eventually(t, func() bool { return got() == warm }, 5*time.Second, 20*time.Millisecond)
	seen, stamped := q.Stats.Seen.Load(), q.Stats.Stamped.Load()
	send(t, p, "9104", 20, 100)
	require.Eventually(t, func() bool { return got() == warm+20 }, 5*time.Second, 20*time.Millisecond)
	assert.EqualValues(t, 20, q.Stats.Seen.Load()-seen)
	assert.EqualValues(t, 20, q.Stats.Stamped.Load()-stamped, "every packet timed from the kernel's stamp")
}
