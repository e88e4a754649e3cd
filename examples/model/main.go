package model

import (
	"context"
	"flag"
	"io"
	"net/http"
	"os"

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
	cfg := DefaultConfig()
	return cli.Main(ctx, cli.Program{
		Name:      "model",
		EnvPrefix: "MODEL",
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfg.Name, "name", cfg.Name, "model name reported in answers")
			fs.DurationVar(&cfg.TTFT, "ttft", cfg.TTFT, "time to first token")
			fs.DurationVar(&cfg.TokenDelay, "token-delay", cfg.TokenDelay, "delay between tokens")
			fs.IntVar(&cfg.Tokens, "tokens", cfg.Tokens, "tokens per answer (max_tokens caps it)")
			fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "requests generating at once")
			fs.IntVar(&cfg.Queue, "queue", cfg.Queue, "requests waiting for a slot before answering busy")
			fs.IntVar(&cfg.BusyStatus, "busy-status", cfg.BusyStatus, "status when saturated: 503 or 429")
			fs.IntVar(&cfg.MaxConns, "max-conns", cfg.MaxConns, "open client connections past which every request is answered busy (0: no cap)")
			fs.DurationVar(&cfg.RetryAfter, "retry-after", cfg.RetryAfter, "Retry-After sent with a busy answer (whole seconds)")
		},
		Build: func() (http.Handler, func(), error) {
			srv, err := New(cfg)
			return srv, func() {}, err
		},
	}, args, stdout, stderr, getenv)
}
