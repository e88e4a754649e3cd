// Command netbench measures the NFQUEUE path of the network faults in two
// throwaway network namespaces (needs root): the delay actually added at
// 100 ms ± 0 jitter, the packet rate the shaper holds at 10 ms of delay, and
// the time from a net-latency fault's inject to its effect and from its
// rollback to it being gone (through the real fault kind, journal included).
//
//	go run ./bench/netbench [-probes 400] [-rates 10000,20000,40000] [-cycles 50]
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
	"github.com/chaos-sre/chaos/faults/target"
	"github.com/chaos-sre/chaos/internal/units"
)

func main() {
	probes := flag.Int("probes", 400, "probes for the delay accuracy")
	rates := flag.String("rates", "10000,20000,40000", "packets per second offered at 10 ms of delay")
	cycles := flag.Int("cycles", 50, "inject/rollback cycles")
	flag.Parse()
	if err := run(*probes, *rates, *cycles); err != nil {
		fmt.Fprintln(os.Stderr, "netbench:", err)
		os.Exit(1)
	}
}

func run(probes int, rates string, cycles int) error {
	p, err := nettest.Make()
	if err != nil {
		return err
	}
	defer p.Close()
	mech := "NFQUEUE userspace shaper"
	if ok, why := network.NetemAvailable(); ok {
		mech += " (netem exists here, but this bench measures the NFQUEUE path)"
	} else {
		mech += " (" + why + ")"
	}
	fmt.Printf("netbench: %s; %s ↔ %s over veth\n\n", mech, p.AddrA, p.AddrB)

	if err := accuracy(p, probes); err != nil {
		return err
	}
	for _, r := range strings.Split(rates, ",") {
		pps, _ := strconv.Atoi(strings.TrimSpace(r))
		if err := throughput(p, pps); err != nil {
			return err
		}
	}
	return injectTimes(p, cycles)
}

// shape puts an NFQUEUE shaper on A's egress to B.
func shape(p *nettest.Pair, s network.Shape, pps int) (func(), error) {
	q, err := network.OpenQueue(p.NSA, s, s.QueueLen(pps))
	if err != nil {
		return nil, err
	}
	name := "chaos-bench-" + strconv.Itoa(rand.IntN(1e6))
	sc := network.Scope{Egress: true, Nets: nil}
	if err := network.AddTable(p.NSA, name, "netbench", sc.Rules(network.Verdict{Kind: "queue", Queue: q.Num})); err != nil {
		q.Close()
		return nil, err
	}
	return func() { _ = network.DelTable(p.NSA, name); _ = q.Close() }, nil
}

// oneWay sends stamped datagrams from A to a sink in B and returns each
// one's one-way delay (same clock: one host), -1 when lost.
func oneWay(p *nettest.Pair, n, pps int) ([]time.Duration, time.Duration, error) {
	sink, err := nettest.ListenUDP(p.NSB, p.AddrB+":0")
	if err != nil {
		return nil, 0, err
	}
	defer sink.Close()
	_ = sink.SetReadBuffer(32 << 20)
	var c *net.UDPConn
	if err := p.NSA.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, sink.LocalAddr().(*net.UDPAddr))
		return err
	}); err != nil {
		return nil, 0, err
	}
	defer c.Close()
	_ = c.SetWriteBuffer(32 << 20)
	got := make([]time.Duration, n)
	for i := range got {
		got[i] = -1
	}
	var received atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			_ = sink.SetReadDeadline(time.Now().Add(time.Second))
			k, err := sink.Read(buf)
			if err != nil {
				return
			}
			if k >= 16 {
				seq := binary.LittleEndian.Uint64(buf[0:8])
				sent := int64(binary.LittleEndian.Uint64(buf[8:16]))
				if seq < uint64(n) {
					got[seq] = time.Duration(time.Now().UnixNano() - sent)
				}
				if received.Add(1) == int64(n) {
					return
				}
			}
		}
	}()
	start := time.Now()
	interval := time.Second / time.Duration(pps)
	buf := make([]byte, 32)
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 200*time.Microsecond {
			time.Sleep(d - 100*time.Microsecond)
		}
		for time.Now().Before(due) {
		}
		binary.LittleEndian.PutUint64(buf[0:8], uint64(i))
		binary.LittleEndian.PutUint64(buf[8:16], uint64(time.Now().UnixNano()))
		_, _ = c.Write(buf)
	}
	sendTime := time.Since(start)
	<-done
	return got, sendTime, nil
}

func pct(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func accuracy(p *nettest.Pair, n int) error {
	base, _, err := oneWay(p, 200, 1000)
	if err != nil {
		return err
	}
	undo, err := shape(p, network.Shape{Delay: 100 * time.Millisecond}, 1000)
	if err != nil {
		return err
	}
	got, _, err := oneWay(p, n, 200)
	undo()
	if err != nil {
		return err
	}
	b := pct(base, 0.5)
	var errs []time.Duration
	lost := 0
	for _, d := range got {
		if d < 0 {
			lost++
			continue
		}
		e := d - b - 100*time.Millisecond
		errs = append(errs, max(e, -e))
	}
	fmt.Printf("delay 100ms ± 0: %d probes at 200/s, baseline one-way p50 %s, lost %d\n", n, b, lost)
	fmt.Printf("  |measured − requested|  p50 %-10s p99 %-10s max %s   (target p50 < 0.5ms, p99 < 2ms)\n\n",
		pct(errs, 0.5), pct(errs, 0.99), pct(errs, 1))
	return nil
}

func throughput(p *nettest.Pair, pps int) error {
	s := network.Shape{Delay: 10 * time.Millisecond}
	undo, err := shape(p, s, pps)
	if err != nil {
		return err
	}
	n := pps * 2
	got, sendTime, err := oneWay(p, n, pps)
	undo()
	if err != nil {
		return err
	}
	held, fast, lost := 0, 0, 0
	var ds []time.Duration
	for _, d := range got {
		switch {
		case d < 0:
			lost++
		case d >= 9500*time.Microsecond:
			held++
			ds = append(ds, d)
		default:
			fast++ // passed un-delayed: the queue was full and failed open
		}
	}
	secs := sendTime.Seconds()
	fmt.Printf("delay 10ms at %d pkt/s offered (%.0f sent/s): held %.0f pkt/s (%.1f%%), passed un-delayed %d, lost %d; delay p50 %s p99 %s\n",
		pps, float64(n)/secs, float64(held)/secs, 100*float64(held)/float64(n), fast, lost, pct(ds, 0.5), pct(ds, 0.99))
	return nil
}

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
	env := faults.Env{Fault: "bench", Targets: []target.Target{{Name: "A", Pid: p.PidA}}, Journal: j,
		Rand: rand.New(rand.NewPCG(1, 2)), Log: io.Discard}
	var inj, rb []time.Duration
	bad := 0
	for range cycles {
		f := &faults.NetLatency{Delay: units.Duration(20 * time.Millisecond)}
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
	fmt.Printf("  inject → in effect   p50 %-10s p99 %s\n", pct(inj, 0.5), pct(inj, 0.99))
	fmt.Printf("  rollback → gone      p50 %-10s p99 %s   (target p99 < 50ms each)\n", pct(rb, 0.5), pct(rb, 0.99))
	fmt.Printf("  probes right after inject not delayed / right after rollback still delayed: %d\n", bad)
	return nil
}
