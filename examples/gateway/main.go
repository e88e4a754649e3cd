package gateway

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"

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
	cfg := DefaultConfig()
	var chosen []string // --variant, GATEWAY_VARIANT
	return cli.Main(ctx, cli.Program{
		Name:      "gateway",
		EnvPrefix: "GATEWAY",
		Flags:     func(fs *flag.FlagSet) { cfg.flags(fs, &chosen) },
		Build: func() (http.Handler, func(), error) {
			for _, v := range chosen {
				if err := cfg.SetVariant(v); err != nil {
					return nil, nil, fmt.Errorf("variant: %w", err)
				}
			}
			g, err := New(cfg)
			if err != nil {
				return nil, nil, err
			}
			return withConnCap(g, cfg.Conns), g.Close, nil
		},
	}, args, stdout, stderr, getenv)
}
