// Command proxybench compares the fault proxy with no fault on against a
// direct connection, side by side in one run: wrk drives a small Go server
// (a separate process) directly, through `chaos`'s proxy in http mode and in
// tcp mode (a separate process too), and optionally through Toxiproxy, at
// several connection counts. It prints throughput, the ratio to direct, and
// p50 / p99 latency with what the proxy adds. The targets take turns, round
// after round, and each figure is the median over the rounds, so a slow
// spell of the machine does not land on one target only.
//
//	go run ./bench/proxybench -conns 1,50,100 -dur 5s -rounds 3 [-toxiproxy /path/to/toxiproxy-server]
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
	connsFlag := fs.String("conns", "1,50,100", "comma-separated wrk connection counts")
	dur := fs.Duration("dur", 5*time.Second, "duration of each wrk run")
	rounds := fs.Int("rounds", 3, "rounds of turns; figures are medians over them")
	toxi := fs.String("toxiproxy", "", "path of a toxiproxy-server binary to measure side by side (optional)")
	wrk := fs.String("wrk", "wrk", "path of wrk")
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
	stub, err := spawn(ctx, nil, "stub")
	if err != nil {
		fmt.Fprintln(stderr, "proxybench: stub:", err)
		return 1
	}
	targets := []struct{ name, addr string }{{"direct", stub}}
	prox, err := spawn(ctx, []string{stub}, "proxy")
	if err != nil {
		fmt.Fprintln(stderr, "proxybench: proxy:", err)
		return 1
	}
	addrs := strings.Fields(prox)
	targets = append(targets, struct{ name, addr string }{"chaos http", addrs[0]}, struct{ name, addr string }{"chaos tcp", addrs[1]})
	if *toxi != "" {
		addr, err := startToxiproxy(ctx, *toxi, stub)
		if err != nil {
			fmt.Fprintln(stderr, "proxybench: toxiproxy:", err)
			return 1
		}
		targets = append(targets, struct{ name, addr string }{"toxiproxy", addr})
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "target\tconns\treq/s\tvs direct\trounds\tp50\tp99\t+p50\t+p99\t\n")
	for _, c := range conns {
		runs := make([][]result, len(targets))
		for range max(*rounds, 1) {
			for i, t := range targets {
				r, err := runWrk(ctx, *wrk, c, *dur, "http://"+t.addr+"/")
				if err != nil {
					fmt.Fprintf(stderr, "proxybench: wrk %s: %v\n", t.name, err)
					return 1
				}
				runs[i] = append(runs[i], r)
			}
		}
		base := median(runs[0])
		for i, t := range targets {
			r := median(runs[i])
			lo, hi := 1e9, 0.0 // the ratio in each round, against that round's direct run
			for k := range runs[i] {
				x := runs[i][k].rps / runs[0][k].rps
				lo, hi = min(lo, x), max(hi, x)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f×\t%.2f–%.2f\t%s\t%s\t%s\t%s\t\n", t.name, c, r.rps, r.rps/base.rps, lo, hi,
				r.p50.Round(time.Microsecond), r.p99.Round(time.Microsecond),
				(r.p50 - base.p50).Round(time.Microsecond), (r.p99 - base.p99).Round(time.Microsecond))
		}
	}
	_ = tw.Flush()
	return 0
}

// spawn runs this binary in a role and returns the line it prints when ready.
func spawn(ctx context.Context, args []string, role string) (string, error) {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+role, "GOMAXPROCS=2")
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("%s did not start: %w", role, err)
	}
	return strings.TrimSpace(line), nil
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

// serveProxy runs an http and a tcp route to upstream with no fault.
func serveProxy(upstream string) int {
	h, err := proxy.Start(proxy.Options{Name: "http", Listen: "127.0.0.1:0", Upstream: upstream, Mode: proxy.ModeHTTP})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	t, err := proxy.Start(proxy.Options{Name: "tcp", Listen: "127.0.0.1:0", Upstream: upstream, Mode: proxy.ModeTCP})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(h.Addr(), t.Addr())
	select {}
}

// startToxiproxy runs toxiproxy-server and creates a proxy to upstream.
func startToxiproxy(ctx context.Context, bin, upstream string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "-host", "127.0.0.1", "-port", "18474")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	listen := "127.0.0.1:18475"
	body := fmt.Sprintf(`{"name":"bench","listen":%q,"upstream":%q}`, listen, upstream)
	for i := 0; i < 50; i++ {
		resp, err := http.Post("http://127.0.0.1:18474/proxies", "application/json", bytes.NewBufferString(body))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 || resp.StatusCode == http.StatusConflict {
				return listen, nil
			}
			return "", fmt.Errorf("create proxy: %s", resp.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("toxiproxy API did not come up")
}

type result struct {
	rps      float64
	p50, p99 time.Duration
}

// median takes each figure's median over the runs on its own.
func median(rs []result) result {
	mid := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
	var rps, p50, p99 []float64
	for _, r := range rs {
		rps, p50, p99 = append(rps, r.rps), append(p50, float64(r.p50)), append(p99, float64(r.p99))
	}
	return result{rps: mid(rps), p50: time.Duration(mid(p50)), p99: time.Duration(mid(p99))}
}

var (
	rpsRE = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	pctRE = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)`)
)

func runWrk(ctx context.Context, wrk string, conns int, dur time.Duration, url string) (result, error) {
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
	for _, p := range pctRE.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(p[2]), 64)
		d := time.Duration(v * map[string]float64{"us": 1e3, "ms": 1e6, "s": 1e9}[string(p[3])])
		if string(p[1]) == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if bytes.Contains(out, []byte("Non-2xx")) || bytes.Contains(out, []byte("Socket errors")) {
		return r, fmt.Errorf("errors during the run: %s", out)
	}
	return r, nil
}
