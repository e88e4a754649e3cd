//go:build linux

package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/network/nettest"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// injectTimes runs the real net-latency fault: inject (journal + queue +
// table), a probe right after must be delayed; rollback, a probe right
// after must not be.
func injectTimes(p *nettest.Pair, cycles int) error {
	dir, err := os.MkdirTemp("", "netbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	j, err := journal.Open(dir, journal.Meta{Run: "bench"})
	if err != nil {
		return err
	}
	defer j.Close()
	echo, err := nettest.ListenUDP(p.NSB, p.AddrB+":0")
	if err != nil {
		return err
	}
	defer echo.Close()
	go nettest.Echo(echo)
	var c *net.UDPConn
	if err := p.NSA.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, echo.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	rtt := func() time.Duration {
		start := time.Now()
		_, _ = c.Write([]byte("x"))
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 8)
		if _, err := c.Read(b); err != nil {
			return -1
		}
		return time.Since(start)
	}
	env := faults.Env{Fault: "bench", Targets: []targets.Target{{Name: "A", Pid: p.PidA}}, Journal: j,
		Rand: rand.New(rand.NewPCG(1, 2)), Log: io.Discard}
	var inj, rb []time.Duration
	bad := 0
	for range cycles {
		f := &netns.NetLatency{Delay: units.Duration(20 * time.Millisecond)}
		start := time.Now()
		if err := f.Inject(context.Background(), env); err != nil {
			return err
		}
		inj = append(inj, time.Since(start))
		if d := rtt(); d < 19*time.Millisecond {
			bad++
		}
		start = time.Now()
		if err := f.Rollback(context.Background()); err != nil {
			return err
		}
		rb = append(rb, time.Since(start))
		if d := rtt(); d < 0 || d > 5*time.Millisecond {
			bad++
		}
	}
	fmt.Printf("\nnet-latency fault, %d cycles (journal fsync + namespace + queue bind + nftables transaction):\n", cycles)
	fmt.Printf("  inject → in effect   p50 %-10s p99 %s\n", fmtD(pct(inj, 0.5)), fmtD(pct(inj, 0.99)))
	fmt.Printf("  rollback → gone      p50 %-10s p99 %s   (target p99 < 50ms each)\n", fmtD(pct(rb, 0.5)), fmtD(pct(rb, 0.99)))
	fmt.Printf("  probes right after inject not delayed / right after rollback still delayed: %d\n", bad)
	return nil
}
