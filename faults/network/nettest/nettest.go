// Package nettest builds throwaway network namespaces for tests and
// benchmarks: two namespaces joined by a veth pair with private addresses
// inside them only, and a process in each to be a fault's target. Every
// piece is removed when the test ends, even when it fails.
package nettest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chaos-sre/chaos/faults/network"
)

// Pair is two namespaces, A and B, joined by a veth pair.
type Pair struct {
	A, B       string // namespace names (ip netns)
	AddrA      string // A's address on the link, e.g. 10.213.7.1
	AddrB      string
	PidA, PidB int // a sleeping process in each
	NSA, NSB   *network.NS
	cleanup    []func()
}

// Require skips a test that needs root, or fails it when
// CHAOS_REQUIRE_DOCKER=1 says the environment must run it.
func Require(t testing.TB) {
	t.Helper()
	if err := network.Available(); err != nil {
		t.Skip(err)
	}
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("ip"); err == nil {
			return
		}
	}
	if os.Getenv("CHAOS_REQUIRE_DOCKER") == "1" {
		t.Fatal("network namespace tests need root and iproute2 (CHAOS_REQUIRE_DOCKER=1 says they must run)")
	}
	t.Skip("network namespace tests need root and iproute2")
}

// New makes a pair; t.Cleanup removes it.
func New(t testing.TB) *Pair {
	t.Helper()
	Require(t)
	p, err := Make()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// Make makes a pair; Close removes it. Its names are random; a name found
// taken (by a pair of a parallel test, or one left over) is tried again
// under another.
func Make() (*Pair, error) {
	var err error
	for range 3 {
		var p *Pair
		if p, err = make1(); !errors.Is(err, errTaken) {
			return p, err
		}
	}
	return nil, err
}

var errTaken = errors.New("name taken")

func make1() (p *Pair, err error) {
	id := fmt.Sprintf("%08x", rand.Uint32())
	sub := 1 + rand.IntN(250)
	p = &Pair{A: "chaost-" + id + "a", B: "chaost-" + id + "b",
		AddrA: fmt.Sprintf("10.213.%d.1", sub), AddrB: fmt.Sprintf("10.213.%d.2", sub)}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	vethA, vethB := "cv"+id+"a", "cv"+id+"b"
	steps := [][]string{
		{"netns", "add", p.A}, {"netns", "add", p.B},
		{"link", "add", vethA, "netns", p.A, "type", "veth", "peer", "name", vethB, "netns", p.B},
		{"-n", p.A, "addr", "add", p.AddrA + "/30", "dev", vethA}, {"-n", p.B, "addr", "add", p.AddrB + "/30", "dev", vethB},
		{"-n", p.A, "link", "set", "lo", "up"}, {"-n", p.B, "link", "set", "lo", "up"},
		{"-n", p.A, "link", "set", vethA, "up"}, {"-n", p.B, "link", "set", vethB, "up"},
	}
	for i, s := range steps {
		if out, err := exec.Command("ip", s...).CombinedOutput(); err != nil {
			if i < 2 && strings.Contains(string(out), "File exists") {
				err = errTaken
			}
			return p, fmt.Errorf("ip %s: %w: %s", strings.Join(s, " "), err, out)
		}
		if i < 2 {
			name := s[2]
			p.cleanup = append(p.cleanup, func() { _ = exec.Command("ip", "netns", "del", name).Run() })
		}
	}
	for _, ns := range []struct {
		name string
		pid  *int
		h    **network.NS
	}{{p.A, &p.PidA, &p.NSA}, {p.B, &p.PidB, &p.NSB}} {
		cmd := exec.Command("ip", "netns", "exec", ns.name, "sleep", "3600")
		if err := cmd.Start(); err != nil {
			return p, err
		}
		p.cleanup = append(p.cleanup, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		*ns.pid = cmd.Process.Pid
		h, err := network.Open("/run/netns/" + ns.name)
		if err != nil {
			return p, err
		}
		*ns.h = h
		p.cleanup = append(p.cleanup, func() { _ = h.Close() })
		if err := inNamespace(*ns.pid, h.Inode); err != nil {
			return p, err
		}
	}
	return p, nil
}

// Close removes everything the pair made, newest first.
func (p *Pair) Close() {
	for i := len(p.cleanup) - 1; i >= 0; i-- {
		p.cleanup[i]()
	}
	p.cleanup = nil
}

// ListenUDP opens a UDP socket in ns on addr ("10.213.7.2:9000").
func ListenUDP(ns *network.NS, addr string) (*net.UDPConn, error) {
	var c net.PacketConn
	err := ns.Do(func() (err error) { c, err = net.ListenPacket("udp4", addr); return err })
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

// ListenTCP opens a TCP listener in ns on addr.
func ListenTCP(ns *network.NS, addr string) (net.Listener, error) {
	var l net.Listener
	err := ns.Do(func() (err error) { l, err = net.Listen("tcp4", addr); return err })
	return l, err
}

// Echo answers every datagram on c with itself until c is closed.
func Echo(c *net.UDPConn) {
	buf := make([]byte, 65536)
	for {
		n, a, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		_, _ = c.WriteToUDP(buf[:n], a)
	}
}

// inNamespace waits until pid has entered the namespace with inode ino:
// `ip netns exec` runs in the host's namespace until it has switched, and a
// fault aimed at it before then would be (rightly) refused as the host's.
func inNamespace(pid int, ino uint64) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got, err := network.PidInode(pid); err == nil && got == ino {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pid %d did not enter network namespace %d within 10s", pid, ino)
		}
		time.Sleep(time.Millisecond)
	}
}
