// Command loadbench measures chaos's open-loop load generator (verify/load)
// against a small Go stub server run as a separate process, rate by rate,
// and optionally vegeta side by side in the same run. Results go to stdout
// as a plain table.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// options are the command-line flags.
type options struct {
	rates  []float64
	dur    time.Duration
	conns  int
	vegeta string
}

func run(args []string, stdout, stderr io.Writer) int {
	if os.Getenv(stubEnv) != "" {
		if err := runStub(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	var o options
	fs := flag.NewFlagSet("loadbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rates := fs.String("rates", "2000,4000,5000,6000,8000,10000", "comma-separated rates in req/s")
	fs.DurationVar(&o.dur, "dur", 5*time.Second, "duration of each rate")
	fs.IntVar(&o.conns, "conns", 256, "connections (worker pool) of our generator")
	fs.StringVar(&o.vegeta, "vegeta", "", "path of a vegeta binary to run side by side (optional)")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(stderr, "loadbench: -cpuprofile:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "loadbench: -cpuprofile:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			fmt.Fprintf(stderr, "loadbench: -rates: %q is not a rate > 0\n", f)
			return 2
		}
		o.rates = append(o.rates, r)
	}
	if err := bench(context.Background(), o, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "loadbench:", err)
		return 1
	}
	return 0
}

// row is one measurement of one tool at one rate.
type row struct {
	tool             string
	rate, achieved   float64
	lagP50, lagP99   time.Duration
	latP99           time.Duration
	cpuPerReq        float64 // µs of CPU (user+sys) per request
	rssMB            float64
	opened, peak     int64
	requests, errors int64
	notes            string
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	stub, addrs, err := startStub(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = stub.Process.Kill(); _ = stub.Wait() }()
	addr, ctl, _ := strings.Cut(addrs, " ")
	url := "http://" + addr + "/v1/chat/completions"
	fmt.Fprintf(stderr, "stub pid %d at %s (control %s)\n", stub.Process.Pid, addr, ctl)
	var rows []row
	for _, rate := range o.rates {
		fmt.Fprintf(stderr, "ours at %.0f/s for %v\n", rate, o.dur)
		r, err := runOurs(ctx, url, ctl, rate, o)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		if o.vegeta != "" {
			fmt.Fprintf(stderr, "vegeta at %.0f/s for %v\n", rate, o.dur)
			v, err := runVegeta(ctx, o.vegeta, url, ctl, rate, o.dur)
			if err != nil {
				return err
			}
			rows = append(rows, v)
		}
	}
	printTable(stdout, rows, o.vegeta != "")
	return nil
}

// startStub re-executes this program as the stub server and reads its address.
func startStub(ctx context.Context) (*exec.Cmd, string, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, "", fmt.Errorf("starting the stub: %w", err)
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(os.Environ(), stubEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", fmt.Errorf("starting the stub: %w", err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting the stub: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, "", fmt.Errorf("reading the stub's address: %w", err)
	}
	return cmd, strings.TrimSpace(line), nil
}

// stubStats reads the stub's connection counts from its control address and
// resets them when reset is set.
func stubStats(ctl string, reset bool) (stubCounts, error) {
	u := "http://" + ctl + "/stats"
	if reset {
		u += "?reset=1"
	}
	var c stubCounts
	resp, err := http.Get(u)
	if err != nil {
		return c, fmt.Errorf("reading the stub's stats: %w", err)
	}
	defer resp.Body.Close()
	return c, json.NewDecoder(resp.Body).Decode(&c)
}

func printTable(w io.Writer, rows []row, side bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tool\trate/s\tachieved/s\t>=99%\tlag<1ms\tlag p50\tlag p99\tlat p99\tCPU µs/req\tRSS MB\tconns opened\tconns peak\terrors\t")
	byRate := map[float64]row{}
	best := map[string]float64{}
	for _, r := range rows {
		held := "no"
		if r.achieved >= 0.99*r.rate {
			held = "yes"
		}
		lagOK, lag50, lag99 := "-", "-", "-" // vegeta does not report its send lag
		if r.tool == "ours" {
			lag50, lag99 = r.lagP50.Round(time.Microsecond).String(), r.lagP99.Round(time.Microsecond).String()
			lagOK = "no"
			if r.lagP99 < time.Millisecond {
				lagOK = "yes"
			}
		}
		if held == "yes" && lagOK != "no" {
			best[r.tool] = max(best[r.tool], r.rate)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t%.1f\t%.0f\t%d\t%d\t%d\t\n", r.tool, r.rate, r.achieved, held,
			lagOK, lag50, lag99, r.latP99.Round(time.Microsecond), r.cpuPerReq, r.rssMB, r.opened, r.peak, r.errors)
		if r.tool == "ours" {
			byRate[r.rate] = r
		} else if ours, ok := byRate[r.rate]; ok && side && r.cpuPerReq > 0 {
			fmt.Fprintf(tw, "vegeta/ours\t\t%.2fx\t\t\t\t\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t%.2fx\t\t\n",
				r.achieved/ours.achieved, float64(r.latP99)/float64(max(ours.latP99, 1)), r.cpuPerReq/ours.cpuPerReq,
				r.rssMB/ours.rssMB, float64(r.opened)/float64(max(ours.opened, 1)), float64(r.peak)/float64(max(ours.peak, 1)))
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "highest rate held (>=99%% achieved; ours also send-lag p99 < 1ms): ours %.0f/s", best["ours"])
	if side {
		fmt.Fprintf(w, ", vegeta %.0f/s", best["vegeta"])
	}
	fmt.Fprintln(w)
}
