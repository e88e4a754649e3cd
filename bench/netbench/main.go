//go:build linux

// Command netbench measures the NFQUEUE path of the network faults in two
// throwaway network namespaces (needs root): the delay a packet actually
// gets against the one requested, at several packet rates, the shaper's
// CPU time per packet, and the time from a net-latency fault's inject to
// its effect and from its rollback to it being gone (through the real
// fault kind, journal included).
//
//	go run ./bench/netbench [-rates10 1000,20000,40000] [-rates100 200,5000,20000]
//	                        [-for 2s] [-rounds 3] [-cycles 50] [-before OLD] [-v]
//
// Rounds are interleaved (every case once per round, with -before the old
// and the new shaper alternating first) and each figure is the median of
// its rounds, so a burst of load from elsewhere on the machine moves one
// round, not the table. To compare with an older shaper, build this bench
// against it and pass the binary as -before:
//
//	git archive OLD | tar -x -C /tmp/old && cp bench/netbench/*.go /tmp/old/bench/netbench/ &&
//	  (cd /tmp/old && go build -o /tmp/netbench-old ./bench/netbench)
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		if err := childMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "netbench shaper:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.StringVar(&o.rates10, "rates10", "1000,20000,40000", "packets per second offered at 10 ms of delay")
	flag.StringVar(&o.rates100, "rates100", "200,5000,20000", "packets per second offered at 100 ms of delay")
	flag.DurationVar(&o.secs, "for", 2*time.Second, "traffic per case and round")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (figures are medians of rounds)")
	flag.IntVar(&o.cycles, "cycles", 50, "inject/rollback cycles of the net-latency fault (0: skip)")
	flag.BoolVar(&o.verbose, "v", false, "print every round's figures to stderr")
	flag.StringVar(&o.before, "before", "", "a netbench binary built against an older shaper, measured side by side")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "netbench:", err)
		os.Exit(1)
	}
}

type options struct {
	rates10, rates100 string
	secs              time.Duration
	rounds, cycles    int
	before            string
	verbose           bool
}

type benchCase struct {
	delay time.Duration
	pps   int
}

type shaperBin struct{ name, exe string }

func run(o options) error {
	var cases []benchCase
	for _, c := range []struct {
		d     time.Duration
		rates string
	}{{10 * time.Millisecond, o.rates10}, {100 * time.Millisecond, o.rates100}} {
		for _, r := range strings.Split(c.rates, ",") {
			if pps, err := strconv.Atoi(strings.TrimSpace(r)); err == nil && pps > 0 {
				cases = append(cases, benchCase{c.d, pps})
			}
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bins := []shaperBin{{"this", self}}
	if o.before != "" {
		bins = []shaperBin{{"before", o.before}, {"after", self}}
	}
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
	fmt.Printf("netbench: %s; %s → %s over veth, shaper in a process of its own\n", mech, p.AddrA, p.AddrB)
	baseRaw, err := oneWay(p, 2000, 1000)
	if err != nil {
		return err
	}
	base := pct(delivered(baseRaw), 0.5)
	fmt.Printf("baseline one-way p50 %s without a shaper (subtracted: delivered = one-way − baseline)\n", fmtD(base))
	fmt.Printf("%d interleaved rounds × %s per case; every figure is the median of its rounds\n\n", o.rounds, o.secs)

	res := map[string][]result{}
	for round := range o.rounds {
		for _, c := range cases {
			order := slices.Clone(bins)
			if round%2 == 1 {
				slices.Reverse(order)
			}
			for _, b := range order {
				r, err := measure(p, b.exe, c, o.secs, base)
				if err != nil {
					return fmt.Errorf("%s at %s, %d/s: %w", b.name, c.delay, c.pps, err)
				}
				k := key(b.name, c)
				res[k] = append(res[k], r)
				if o.verbose {
					fmt.Fprintf(os.Stderr, "  round %d  %s %d/s %s: p50 %s p99 %s max %s, %d demotions\n", round+1,
						c.delay, c.pps, b.name, fmtD(r.p50), fmtD(r.p99), fmtD(r.max), r.demoted)
				}
			}
		}
		fmt.Fprintf(os.Stderr, "round %d of %d done\n", round+1, o.rounds)
	}
	fmt.Printf("%-9s %-8s %-7s %9s %9s %9s %10s %10s %6s %6s %9s %8s %9s\n", "requested", "rate/s", "shaper",
		"p50", "p99", "max", "|err| p50", "|err| p99", "undel", "lost", "CPU/pkt", "stamped", "read lag")
	for _, c := range cases {
		for _, b := range bins {
			m := medianResult(res[key(b.name, c)])
			fmt.Printf("%-9s %-8d %-7s %9s %9s %9s %10s %10s %6d %6d %9s %7.0f%% %9s\n", c.delay, c.pps, b.name,
				fmtD(m.p50), fmtD(m.p99), fmtD(m.max), fmtD(m.err50), fmtD(m.err99), m.undelayed, m.lost,
				fmtD(m.cpuPerPkt), 100*m.stamped, fmtD(m.readLag))
			if m.demoted > 0 {
				fmt.Printf("%-9s (the shaper's thread gave up real-time priority for a while in %d of %d rounds)\n", "", m.demoted, len(res[key(b.name, c)]))
			}
		}
	}
	fmt.Println("\np50/p99/max: delivered delay; |err|: |delivered − requested|; undel: packets that passed un-delayed")
	fmt.Println("(the queue was full and failed open); CPU/pkt: the shaper process's user+system CPU time / packets it saw;")
	fmt.Println("stamped: share timed from the kernel's queue stamp (it has one for packets that came in on an interface);")
	fmt.Println("read lag: mean time subtracted from when the shaper read a packet (measured when stamped, else its estimated")
	fmt.Println("wake-up lateness). Targets: 10ms p99 ≤ 11ms at 20k/s, ≤ 12ms at 40k/s;")
	fmt.Println("100ms |err| p99 ≤ 0.5ms.")
	if o.cycles > 0 {
		return injectTimes(p, o.cycles)
	}
	return nil
}

func key(bin string, c benchCase) string { return fmt.Sprintf("%s %s %d", bin, c.delay, c.pps) }

// result is one run of one case.
type result struct {
	p50, p99, max, err50, err99 time.Duration
	undelayed, lost             int
	cpuPerPkt, readLag          time.Duration
	stamped                     float64
	demoted                     int
}

// measure runs one case: a shaper child on A's egress, traffic for secs.
func measure(p *nettest.Pair, exe string, c benchCase, secs, base time.Duration) (result, error) {
	ch, err := startChild(context.Background(), exe, "/run/netns/"+p.A, c.delay, c.pps)
	if err != nil {
		return result{}, err
	}
	name := "chaos-bench-" + strconv.Itoa(rand.IntN(1e6))
	sc := network.Scope{Egress: true}
	if err := network.AddTable(p.NSA, name, "netbench", sc.Rules(network.Verdict{Kind: "queue", Queue: ch.Num})); err != nil {
		ch.kill()
		return result{}, err
	}
	ch.start()
	got, err := oneWay(p, int(secs.Seconds()*float64(c.pps)), c.pps)
	_ = network.DelTable(p.NSA, name)
	st, serr := ch.stop()
	if err != nil || serr != nil {
		return result{}, errorsJoin(err, serr)
	}
	var r result
	var ds, errs []time.Duration
	for _, d := range got {
		if d < 0 {
			r.lost++
			continue
		}
		d -= base
		if d < c.delay/2 {
			r.undelayed++
		}
		ds = append(ds, d)
		errs = append(errs, abs(d-c.delay))
	}
	r.p50, r.p99, r.max = pct(ds, 0.5), pct(ds, 0.99), pct(ds, 1)
	r.err50, r.err99 = pct(errs, 0.5), pct(errs, 0.99)
	if st.seen > 0 {
		r.cpuPerPkt = st.cpu / time.Duration(st.seen)
		r.stamped = float64(st.stamped) / float64(st.seen)
	}
	r.demoted = int(st.demoted)
	if st.seen > 0 {
		r.readLag = st.readLag / time.Duration(st.seen)
	}
	return r, nil
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func delivered(got []time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range got {
		if d >= 0 {
			out = append(out, d)
		}
	}
	return out
}

// medianResult takes each figure's median over rounds.
func medianResult(rs []result) result {
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	d := func(f func(result) time.Duration) time.Duration {
		return time.Duration(med(func(r result) float64 { return float64(f(r)) }))
	}
	return result{
		p50: d(func(r result) time.Duration { return r.p50 }), p99: d(func(r result) time.Duration { return r.p99 }),
		max: d(func(r result) time.Duration { return r.max }), err50: d(func(r result) time.Duration { return r.err50 }),
		err99:     d(func(r result) time.Duration { return r.err99 }),
		undelayed: int(med(func(r result) float64 { return float64(r.undelayed) })),
		lost:      int(med(func(r result) float64 { return float64(r.lost) })),
		cpuPerPkt: d(func(r result) time.Duration { return r.cpuPerPkt }),
		readLag:   d(func(r result) time.Duration { return r.readLag }),
		stamped:   med(func(r result) float64 { return r.stamped }),
		demoted:   len(slices.DeleteFunc(slices.Clone(rs), func(r result) bool { return r.demoted == 0 })),
	}
}

func pct(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func abs(d time.Duration) time.Duration { return max(d, -d) }

// fmtD prints a duration to 0.01 ms (µs below 0.1 ms).
func fmtD(d time.Duration) string {
	if abs(d) < 100*time.Microsecond {
		return fmt.Sprintf("%.0fµs", float64(d)/1e3)
	}
	return fmt.Sprintf("%.2fms", float64(d)/1e6)
}
