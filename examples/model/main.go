package model

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chaos-sre/chaos/examples/internal/cli"
)

// Main runs the model server program: flags (or MODEL_* environment
// variables), then serve until ctx ends. "healthcheck [URL]" as the first
// argument, or --check URL, GETs the URL instead and exits 0 or 1 (URL
// defaults to /healthz on --listen), for docker healthchecks in images with
// no shell. It returns the process exit code: 0 ok, 1 failure, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, stdout, stderr, os.Getenv)
}

func mainEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("model", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on; the bound address is printed as 'listening on ADDR'")
	check := fs.String("check", "", "GET this URL, exit 0 if it answers 2xx, else 1 (for docker healthchecks)")
	fs.StringVar(&cfg.Name, "name", cfg.Name, "model name reported in answers")
	fs.DurationVar(&cfg.TTFT, "ttft", cfg.TTFT, "time to first token")
	fs.DurationVar(&cfg.TokenDelay, "token-delay", cfg.TokenDelay, "delay between tokens")
	fs.IntVar(&cfg.Tokens, "tokens", cfg.Tokens, "tokens per answer (max_tokens caps it)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "requests generating at once")
	fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "requests waiting for a slot before answering busy")
	fs.IntVar(&cfg.BusyStatus, "busy-status", cfg.BusyStatus, "status when saturated: 503 or 429")
	fs.DurationVar(&cfg.RetryAfter, "retry-after", cfg.RetryAfter, "Retry-After sent with a busy answer (whole seconds)")
	if err := cli.Parse(fs, "MODEL", args, getenv); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "model: %v\n", err)
		return 2
	}
	if healthcheck || *check != "" {
		url := *check
		if url == "" && fs.NArg() > 0 {
			url = fs.Arg(0)
		}
		if url == "" {
			url = cli.LocalURL(*listen, "/healthz")
		}
		if err := cli.Check(ctx, url); err != nil {
			fmt.Fprintf(stderr, "model: %v\n", err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "model: unexpected arguments %q\n", fs.Args())
		return 2
	}
	srv, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "model: %v\n", err)
		return 2
	}
	if err := cli.Serve(ctx, *listen, srv, stdout, 5*time.Second); err != nil {
		fmt.Fprintf(stderr, "model %s: %v\n", cfg.Name, err)
		return 1
	}
	return 0
}
