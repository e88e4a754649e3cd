package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Serve listens on addr, prints "listening on ADDR" (the bound address, so
// ":0" works) on stdout, and serves h until ctx ends; then it shuts down,
// giving in-flight requests up to grace to finish.
func Serve(ctx context.Context, addr string, h http.Handler, stdout io.Writer, grace time.Duration) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if cs, ok := h.(interface {
		ConnState(net.Conn, http.ConnState)
	}); ok {
		srv.ConnState = cs.ConnState
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("report address: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down: %w", err)
	}
	_ = srv.Close()
	return nil
}

// Program is one of the example binaries: its name (for messages), the
// prefix of its environment variables, its own flags, and how to build its
// handler once flags are parsed.
type Program struct {
	Name      string
	EnvPrefix string
	Flags     func(fs *flag.FlagSet)
	// Build returns the handler to serve and a function to call after
	// serving; an error is bad usage (exit 2).
	Build func() (http.Handler, func(), error)
}

// Main runs a Program: flags (or PREFIX_* environment variables), then
// serve on --listen until ctx ends. "healthcheck [URL]" as the first argument,
// or --check URL, GETs the URL instead and exits 0 or 1 (URL defaults to
// /healthz on --listen), for docker healthchecks in images with no shell.
// It returns the exit code: 0 ok, 1 failure, 2 bad usage.
func Main(ctx context.Context, p Program, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	healthcheck := len(args) > 0 && args[0] == "healthcheck"
	if healthcheck {
		args = args[1:]
	}
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on; the bound address is printed as 'listening on ADDR'")
	check := fs.String("check", "", "GET this URL, exit 0 if it answers 2xx, else 1 (for docker healthchecks)")
	p.Flags(fs)
	if err := Parse(fs, p.EnvPrefix, args, getenv); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	if healthcheck || *check != "" {
		url := *check
		if url == "" && fs.NArg() > 0 {
			url = fs.Arg(0)
		}
		if url == "" {
			url = LocalURL(*listen, "/healthz")
		}
		if err := Check(ctx, url); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", p.Name, fs.Args())
		return 2
	}
	h, done, err := p.Build()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 2
	}
	defer done()
	if err := Serve(ctx, *listen, h, stdout, 5*time.Second); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", p.Name, err)
		return 1
	}
	return 0
}

// Sleep waits d or until ctx ends; false if ctx ended first.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
