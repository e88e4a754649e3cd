//go:build linux

// Command proxybench compares the fault proxy against a direct connection
// and Toxiproxy, side by side in one run: wrk drives a small Go server (a
// separate process) directly, through `chaos`'s proxy (a separate process
// too) and optionally through Toxiproxy, at several connection counts, with
// no fault on and with one: latency 1 ms and 10 ms (Toxiproxy's latency
// toxic beside it) and http-error on 10 % of requests (ours alone: Toxiproxy
// has no such toxic). It prints throughput, CPU per request of the proxy
// process, latency, and for delays the delay delivered against the one
// requested. The targets take turns, round after round, and each figure is
// the median over the rounds, so a slow spell of the machine does not land
// on one target only. It ends with the acceptance figures. Linux
// only: it reads the proxy's CPU time from /proc and measures the event
// loops, which only Linux has.
//
//	go run ./bench/proxybench -conns 1,50 -dur 3s -rounds 3 [-toxiproxy /path/to/toxiproxy-server]
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/chaos-sre/chaos/faults/proxy"
)

const roleEnv = "PROXYBENCH_ROLE"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	switch os.Getenv(roleEnv) {
	case "stub":
		return serveStub()
	case "proxy":
		return serveProxy(os.Args[1])
	}
	fs := flag.NewFlagSet("proxybench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connsFlag := fs.String("conns", "1,50", "comma-separated wrk connection counts")
	dur := fs.Duration("dur", 3*time.Second, "duration of each wrk run")
	rounds := fs.Int("rounds", 3, "rounds of turns; figures are medians over them")
	toxi := fs.String("toxiproxy", "", "path of a toxiproxy-server binary to measure side by side (optional)")
	wrk := fs.String("wrk", "wrk", "path of wrk")
	noFaults := fs.Bool("no-faults", false, "measure with no fault on only")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var conns []int
	for _, s := range strings.Split(*connsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "proxybench: bad -conns %q\n", s)
			return 2
		}
		conns = append(conns, n)
	}
	if _, err := exec.LookPath(*wrk); err != nil {
		fmt.Fprintln(stderr, "proxybench: wrk not found (apt-get install -y wrk)")
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stub, _, err := spawn(ctx, nil, "stub")
	if err != nil {
		fmt.Fprintln(stderr, "proxybench: stub:", err)
		return 1
	}
	prox, ppid, err := spawn(ctx, []string{stub}, "proxy")
	if err != nil {
		fmt.Fprintln(stderr, "proxybench: proxy:", err)
		return 1
	}
	addrs := strings.Fields(prox) // http, tcp, then one http route per fault case
	ts := []target{{name: "direct", addr: stub}, {name: "chaos http", addr: addrs[0], pid: ppid}, {name: "chaos tcp", addr: addrs[1], pid: ppid}}
	toxiAddrs := []string{}
	if *toxi != "" {
		var tpid int
		toxiAddrs, tpid, err = startToxiproxy(ctx, *toxi, stub)
		if err != nil {
			fmt.Fprintln(stderr, "proxybench: toxiproxy:", err)
			return 1
		}
		ts = append(ts, target{name: "toxiproxy", addr: toxiAddrs[0], pid: tpid})
	}
	if !*noFaults {
		for i, fc := range faultCases {
			ts = append(ts, target{name: "chaos http", fault: fc.name, addr: addrs[2+i], pid: ppid, delay: fc.delay, base: 1, errs: fc.errs})
			if fc.toxic != "" && *toxi != "" {
				ts = append(ts, target{name: "toxiproxy", fault: fc.name, addr: toxiAddrs[1+i], pid: ts[3].pid, delay: fc.delay, base: 3})
			}
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "fault\ttarget\tconns\treq/s\tvs direct\tCPU/req\tp50\tp99\t+p50\t+p99\tdelay p50\tdelay p99\terrors\t\n")
	var acc []string
	for _, c := range conns {
		runs := make([][]result, len(ts))
		for range max(*rounds, 1) {
			for i, t := range ts {
				r, err := measure(ctx, *wrk, c, *dur, t)
				if err != nil {
					fmt.Fprintf(stderr, "proxybench: wrk %s %s: %v\n", t.name, t.fault, err)
					return 1
				}
				runs[i] = append(runs[i], r)
			}
		}
		sum := make([]summary, len(ts))
		for i, t := range ts {
			sum[i] = summarize(ts, runs, i)
			s := sum[i]
			cpu, d50, d99, errs := "-", "", "", ""
			if t.pid != 0 {
				cpu = fmt.Sprintf("%.0fµs", s.cpu.Seconds()*1e6)
			}
			if t.delay > 0 {
				d50 = fmt.Sprintf("%s (%+.0f%%)", ms(s.d50), 100*(float64(s.d50)/float64(t.delay)-1))
				d99 = fmt.Sprintf("%s (%+.2fms)", ms(s.d99), float64(s.d99-t.delay)/1e6)
			}
			if t.errs > 0 {
				errs = fmt.Sprintf("%.1f%%", 100*s.errs)
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%.2f×\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", or(t.fault, "none"), t.name, c, s.rps, s.rps/sum[0].rps, cpu,
				ms(s.p50), ms(s.p99), ms(s.p50-sum[0].p50), ms(s.p99-sum[0].p99), d50, d99, errs)
		}
		acc = append(acc, accept(ts, sum, c)...)
	}
	_ = tw.Flush()
	fmt.Fprintln(stdout, "\ndelay: delivered delay against the no-fault run of the same target in the same round (c1: wrk's latencies; more conns: a paced run after wrk's, each connection sending every 20 ms, so that the machine is not saturated); CPU/req: the proxy process's user+system CPU over wrk's requests")
	if len(acc) > 0 {
		fmt.Fprintln(stdout, "\nacceptance (ratios side by side in this run):")
		for _, a := range acc {
			fmt.Fprintln(stdout, "  "+a)
		}
	}
	return 0
}

// faultCases are the faults measured, each on a route of its own; a toxic
// names Toxiproxy's equivalent ("": it has none).
var faultCases = []struct {
	name  string
	spec  proxy.Spec
	toxic string
	delay time.Duration
	errs  float64
}{
	{"latency 1ms", proxy.Spec{Kind: "latency", Params: []byte(`{"delay":"1ms"}`), Seed: 1}, `{"type":"latency","attributes":{"latency":1}}`, time.Millisecond, 0},
	{"latency 10ms", proxy.Spec{Kind: "latency", Params: []byte(`{"delay":"10ms"}`), Seed: 1}, `{"type":"latency","attributes":{"latency":10}}`, 10 * time.Millisecond, 0},
	{"http-error 10%", proxy.Spec{Kind: "http-error", Params: []byte(`{"status":503,"share":"10%"}`), Seed: 1}, "", 0, 0.1},
}

// target is one way to the stub: direct, or through a proxy with a fault
// or none.
type target struct {
	name, fault, addr string
	pid               int           // the proxy process whose CPU counts (0: none)
	delay             time.Duration // the delay the fault asks for
	base              int           // the index of the same proxy with no fault
	errs              float64       // the share of answers the fault fails
}

// summary is a target's medians over the rounds.
type summary struct {
	rps      float64
	p50, p99 time.Duration
	cpu      time.Duration // per request
	d50, d99 time.Duration // delivered delay
	errs     float64
}

func summarize(ts []target, runs [][]result, i int) summary {
	var rps, p50, p99, cpu, d50, d99, errs []float64
	for k, r := range runs[i] {
		rps, p50, p99 = append(rps, r.rps), append(p50, float64(r.p50)), append(p99, float64(r.p99))
		cpu = append(cpu, float64(r.cpu)/max(r.reqs, 1))
		errs = append(errs, r.non2xx/max(r.reqs, 1))
		if ts[i].delay > 0 {
			b := runs[ts[i].base][k]
			d50 = append(d50, float64(r.l50-b.l50))
			d99 = append(d99, float64(r.l99-b.l99))
		}
	}
	return summary{rps: mid(rps), p50: time.Duration(mid(p50)), p99: time.Duration(mid(p99)), cpu: time.Duration(mid(cpu)),
		d50: time.Duration(mid(d50)), d99: time.Duration(mid(d99)), errs: mid(errs)}
}

// accept prints the acceptance figures for c connections.
func accept(ts []target, sum []summary, c int) []string {
	var out []string
	yes := func(ok bool) string {
		if ok {
			return "yes"
		}
		return "NO"
	}
	for i, t := range ts {
		switch {
		case t.fault == "" && t.name == "chaos http" && c > 1:
			x := sum[i].rps / sum[0].rps
			out = append(out, fmt.Sprintf("no fault c%d: chaos http %.2f× direct's throughput (≥ 0.7×: %s)", c, x, yes(x >= 0.7)))
		case t.fault == "latency 1ms" && t.name == "chaos http":
			line := fmt.Sprintf("latency 1ms c%d:", c)
			for j, u := range ts {
				if u.fault == t.fault && u.name == "toxiproxy" {
					x := float64(sum[i].cpu) / float64(sum[j].cpu)
					line += fmt.Sprintf(" CPU/req %.0fµs = %.2f× toxiproxy's %.0fµs (≤ 1.0×: %s);", sum[i].cpu.Seconds()*1e6, x, sum[j].cpu.Seconds()*1e6, yes(x <= 1))
				}
			}
			off := float64(sum[i].d50)/float64(t.delay) - 1
			over := sum[i].d99 - t.delay
			line += fmt.Sprintf(" delay p50 %s (%+.1f%%, within ±10%%: %s); delay p99 %s (%+.2fms, ≤ +1ms: %s)",
				ms(sum[i].d50), 100*off, yes(off >= -0.1 && off <= 0.1), ms(sum[i].d99), float64(over)/1e6, yes(over <= time.Millisecond))
			out = append(out, line)
		}
	}
	return out
}

func mid(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// spawn runs this binary in a role and returns the line it prints when
// ready and its pid.
func spawn(ctx context.Context, args []string, role string) (string, int, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "GOMAXPROCS=2")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return "", 0, fmt.Errorf("%s did not start: %w", role, err)
	}
	return strings.TrimSpace(line), cmd.Process.Pid, nil
}

// serveStub is the small Go server: a short JSON answer, keep-alive.
func serveStub() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 1
	}
	body := []byte(`{"id":"chatcmpl-1","choices":[{"message":{"role":"assistant","content":"hello"}}]}`)
	fmt.Println(ln.Addr())
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	return 0
}

// serveProxy runs an http and a tcp route to upstream with no fault, and
// an http route per fault case with that fault on.
func serveProxy(upstream string) int {
	var addrs []string
	start := func(name string, mode proxy.Mode, f *proxy.Spec) bool {
		rt, err := proxy.Start(proxy.Options{Name: name, Listen: "127.0.0.1:0", Upstream: upstream, Mode: mode})
		if err == nil && f != nil {
			_, err = rt.Add(*f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return false
		}
		addrs = append(addrs, rt.Addr())
		return true
	}
	if !start("http", proxy.ModeHTTP, nil) || !start("tcp", proxy.ModeTCP, nil) {
		return 1
	}
	for _, fc := range faultCases {
		if !start(fc.name, proxy.ModeHTTP, &fc.spec) {
			return 1
		}
	}
	fmt.Println(strings.Join(addrs, " "))
	select {}
}

// startToxiproxy runs toxiproxy-server and creates a proxy to upstream with
// no toxic, then one per fault case (with its toxic, or none when
// Toxiproxy has no equivalent). It returns their addresses and its pid.
func startToxiproxy(ctx context.Context, bin, upstream string) ([]string, int, error) {
	cmd := exec.CommandContext(ctx, bin, "-host", "127.0.0.1", "-port", "18474")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	post := func(path, body string) error {
		var last error
		for i := 0; i < 50; i++ {
			resp, err := http.Post("http://127.0.0.1:18474"+path, "application/json", bytes.NewBufferString(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode < 300 || resp.StatusCode == http.StatusConflict {
					return nil
				}
				return fmt.Errorf("POST %s: %s", path, resp.Status)
			}
			last = err
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("toxiproxy API did not come up: %w", last)
	}
	var addrs []string
	for i := 0; i <= len(faultCases); i++ {
		name, listen := fmt.Sprintf("bench%d", i), fmt.Sprintf("127.0.0.1:%d", 18475+i)
		if err := post("/proxies", fmt.Sprintf(`{"name":%q,"listen":%q,"upstream":%q}`, name, listen, upstream)); err != nil {
			return nil, 0, err
		}
		if i > 0 && faultCases[i-1].toxic != "" {
			if err := post("/proxies/"+name+"/toxics", faultCases[i-1].toxic); err != nil {
				return nil, 0, err
			}
		}
		addrs = append(addrs, listen)
	}
	return addrs, cmd.Process.Pid, nil
}

// result is one wrk run against one target.
type result struct {
	rps          float64
	p50, p99     time.Duration // wrk's
	l50, l99     time.Duration // what delays are judged on: wrk's at c1, else the probe's
	reqs, non2xx float64
	cpu          time.Duration // the proxy process's, over the run
}

// measure runs wrk against t with c connections for throughput and CPU,
// reading the proxy process's CPU time around it. With c > 1 a paced run
// follows for latency: wrk's closed loop saturates the machine's two cores,
// so its latencies are mostly queueing, which a delay shifts around rather
// than adds to.
func measure(ctx context.Context, wrk string, c int, dur time.Duration, t target) (result, error) {
	cpu0 := cpuTime(t.pid)
	r, err := runWrk(ctx, wrk, c, dur, "http://"+t.addr+"/", t.errs > 0)
	r.cpu = cpuTime(t.pid) - cpu0
	r.l50, r.l99 = r.p50, r.p99
	if err != nil || c == 1 {
		return r, err
	}
	lat := paced(ctx, t.addr, c, pacedEvery, dur)
	if len(lat) == 0 {
		return r, fmt.Errorf("paced run: no answer")
	}
	slices.Sort(lat)
	r.l50, r.l99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return r, nil
}

// pacedEvery is how often each connection of a paced run sends.
const pacedEvery = 20 * time.Millisecond

// paced sends on conns keep-alive connections, each one request every
// every (spread evenly over the period), for dur, and returns the
// latencies.
func paced(ctx context.Context, addr string, conns int, every, dur time.Duration) []time.Duration {
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	out := make(chan []time.Duration, conns)
	start := time.Now()
	for i := range conns {
		go func() {
			var lat []time.Duration
			defer func() { out <- lat }()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			next := start.Add(every * time.Duration(i) / time.Duration(conns))
			for {
				if d := time.Until(next); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				if ctx.Err() != nil {
					return
				}
				sent := time.Now()
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: paced\r\n\r\n"); err != nil {
					return
				}
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					return
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					return
				}
				lat = append(lat, time.Since(sent))
				if next = next.Add(every); time.Until(next) < 0 {
					next = time.Now()
				}
			}
		}()
	}
	var all []time.Duration
	for range conns {
		all = append(all, <-out...)
	}
	return all
}

// cpuTime is a process's user + system CPU time (0 for pid 0).
func cpuTime(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])) // fields from the 3rd on
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	reqsRE   = regexp.MustCompile(`(\d+) requests in`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	pctRE    = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
)

func runWrk(ctx context.Context, wrk string, conns int, dur time.Duration, url string, errsOK bool) (result, error) {
	threads := min(conns, 2)
	out, err := exec.CommandContext(ctx, wrk, "-t"+strconv.Itoa(threads), "-c"+strconv.Itoa(conns),
		"-d"+dur.String(), "--latency", url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("%v: %s", err, out)
	}
	var r result
	m := rpsRE.FindSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in %s", out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	if m := reqsRE.FindSubmatch(out); m != nil {
		r.reqs, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := non2xxRE.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	for _, p := range pctRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		d := time.Duration(v * map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[string(p[3])])
		if string(p[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if (r.non2xx > 0 && !errsOK) || bytes.Contains(out, []byte("Socket errors")) {
		return r, fmt.Errorf("errors during the run: %s", out)
	}
	return r, nil
}
