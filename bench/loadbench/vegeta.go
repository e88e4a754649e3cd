package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// vegetaReport is the part of `vegeta report -type=json` we read.
type vegetaReport struct {
	Latencies struct {
		P99 int64 `json:"99th"`
	} `json:"latencies"`
	Requests   int64          `json:"requests"`
	Throughput float64        `json:"throughput"`
	Success    float64        `json:"success"`
	Status     map[string]int `json:"status_codes"`
}

// runVegeta runs `vegeta attack` at rate for dur against url, measuring the
// attack process's CPU via its rusage, then `vegeta report -type=json`.
func runVegeta(ctx context.Context, bin, url, ctl string, rate float64, dur time.Duration) (row, error) {
	dir, err := os.MkdirTemp("", "loadbench-vegeta")
	if err != nil {
		return row{}, err
	}
	defer os.RemoveAll(dir)
	body := filepath.Join(dir, "body.json")
	if err := os.WriteFile(body, []byte(`{"model":"stub","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`), 0o600); err != nil {
		return row{}, err
	}
	targets := fmt.Sprintf("POST %s\nContent-Type: application/json\n@%s\n", url, body)
	results := filepath.Join(dir, "results.bin")
	if _, err := stubStats(ctl, true); err != nil {
		return row{}, err
	}
	attack := exec.CommandContext(ctx, bin, "attack", "-rate="+strconv.FormatFloat(rate, 'f', 0, 64)+"/s",
		"-duration="+dur.String(), "-timeout=5s", "-output="+results)
	attack.Stdin = bytes.NewBufferString(targets)
	attack.Stderr = os.Stderr
	if err := attack.Run(); err != nil {
		return row{}, fmt.Errorf("running vegeta attack at %.0f/s: %w", rate, err)
	}
	ps := attack.ProcessState
	cpu := ps.UserTime() + ps.SystemTime()
	rss := peakRSS(ps)
	c, err := stubStats(ctl, false)
	if err != nil {
		return row{}, err
	}
	out, err := exec.CommandContext(ctx, bin, "report", "-type=json", results).Output()
	if err != nil {
		return row{}, fmt.Errorf("running vegeta report: %w", err)
	}
	var rep vegetaReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return row{}, fmt.Errorf("reading vegeta's report: %w", err)
	}
	ok := int64(float64(rep.Requests) * rep.Success)
	r := row{tool: "vegeta", rate: rate, achieved: float64(ok) / dur.Seconds(),
		latP99: time.Duration(rep.Latencies.P99), rssMB: rss, opened: c.Opened, peak: c.Peak,
		requests: rep.Requests, errors: rep.Requests - ok}
	if rep.Requests > 0 {
		r.cpuPerReq = float64(cpu.Microseconds()) / float64(rep.Requests)
	}
	return r, nil
}
