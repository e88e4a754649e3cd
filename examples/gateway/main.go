package gateway

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/chaos-sre/chaos/examples/internal/cli"
)

// Main runs the gateway program: flags (or GATEWAY_* environment variables;
// GATEWAY_VARIANT=no-breaker,no-fallback is --variant), then serve until ctx
// ends. "healthcheck [URL]" or --check URL GETs the URL and exits 0 or 1.
// It returns the process exit code: 0 ok, 1 failure, 2 bad usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return mainEnv(ctx, args, stdout, stderr, os.Getenv)
}

func mainEnv(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	cfg := DefaultConfig()
	var variants []string
	fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on; the bound address is printed as 'listening on ADDR'")
	check := fs.String("check", "", "GET this URL, exit 0 if it answers 2xx, else 1 (for docker healthchecks)")
	cfg.flags(fs, &variants)
	if err := cli.Parse(fs, "GATEWAY", args, getenv); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "gateway: %v\n", err)
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
			fmt.Fprintf(stderr, "gateway: %v\n", err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gateway: unexpected arguments %q\n", fs.Args())
		return 2
	}
	for _, v := range variants {
		if err := cfg.SetVariant(v); err != nil {
			fmt.Fprintf(stderr, "gateway: variant: %v\n", err)
			return 2
		}
	}
	g, err := New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 2
	}
	defer g.Close()
	if err := cli.Serve(ctx, *listen, g, stdout, 5*time.Second); err != nil {
		fmt.Fprintf(stderr, "gateway: %v\n", err)
		return 1
	}
	return 0
}
