package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/internal/safefile"
)

// proxyOptions are the flags of `chaos proxy`.
type proxyOptions struct {
	Listen    []string
	Upstream  []string
	Mode      []string
	API       string
	APIHosts  []string
	Token     string
	TokenFile string
	Config    string
}

// proxyConfig is the --config file.
type proxyConfig struct {
	API       string        `yaml:"api"`
	Token     string        `yaml:"token"`
	TokenFile string        `yaml:"token_file"`
	Routes    []routeConfig `yaml:"routes"`
}

type routeConfig struct {
	Name     string `yaml:"name"`
	Listen   string `yaml:"listen"`
	Upstream string `yaml:"upstream"`
	Mode     string `yaml:"mode"`
}

func newProxyCmd(stdout, stderr io.Writer) *cobra.Command {
	var o proxyOptions
	cmd := &cobra.Command{
		Use:   "proxy --listen [NAME=]ADDR --upstream ADDR [--mode http|tcp] [--api ADDR] [--token-file FILE]",
		Short: "Run the fault proxy as a service, driven through a control API",
		Long: `chaos proxy runs fault proxy routes in front of upstreams (put it in your compose file in front of
a model) and a control API that experiments drive with target: {proxy: ROUTE, api: URL}.

--listen, --upstream and --mode repeat, paired by position (one --mode applies to all). A route is
named by NAME= or by its listen address. http routes decide faults per request (HTTP and SSE faults,
matching path, method and header); tcp routes decide per connection (L4 faults: latency, jitter,
bandwidth, reset, timeout, slow-close, slicer, limit-data).

Control API (JSON): GET /healthz, GET /routes, GET|POST /routes/{route}/faults,
DELETE /routes/{route}/faults/{id}, GET /kinds, GET /metrics (Prometheus). It binds to
127.0.0.1:8474 by default; bound beyond loopback it needs a token, sent as
"Authorization: Bearer TOKEN". Give the token with --token-file FILE or the environment variable
CHAOS_PROXY_TOKEN: both stay out of ps. --token T works too, but every user of the machine can read
it in ps and /proc/PID/cmdline.

With or without a token the API refuses what a web page could make a browser send: a request with an
Origin of another site or Sec-Fetch-Site cross-site/same-site, a Host that is not the API's address
(DNS rebinding; the listen address, localhost and loopback IPs are accepted, and the interface's own
addresses when bound beyond loopback — add names such as a compose service with --api-host), and a
body without Content-Type: application/json. A route holds at most 64 faults; a fault id is at most
128 characters of A-Z a-z 0-9 . _ -. SIGTERM or Ctrl-C closes every route and exits 0.`,
		Example: `  chaos proxy --listen 127.0.0.1:9001 --upstream 127.0.0.1:8001
  chaos proxy --listen primary=0.0.0.0:9001 --upstream model-primary:8000 --api 0.0.0.0:8474 --token-file /run/secrets/chaos-proxy-token
  CHAOS_PROXY_TOKEN=… chaos proxy --listen primary=0.0.0.0:9001 --upstream model-primary:8000 --api 0.0.0.0:8474 --api-host chaos-proxy
  chaos proxy --config proxy.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runProxy(cmd.Context(), o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.Listen, "listen", nil, "[NAME=]host:port a route listens on (repeatable)")
	f.StringArrayVar(&o.Upstream, "upstream", nil, "host:port the route forwards to (repeatable, paired with --listen)")
	f.StringArrayVar(&o.Mode, "mode", nil, "http (per request, the default) or tcp (per connection); once for all or once per route")
	f.StringVar(&o.API, "api", "127.0.0.1:8474", "control API address; \"off\" runs without one")
	f.StringArrayVar(&o.APIHosts, "api-host", nil, "another name clients may use in the Host header to reach the control API, e.g. a compose service (repeatable)")
	f.StringVar(&o.TokenFile, "token-file", "", "file holding the control API token (else $CHAOS_PROXY_TOKEN); required when --api is not loopback")
	f.StringVar(&o.Token, "token", "", "control API token; visible to every local user in ps — prefer --token-file or $CHAOS_PROXY_TOKEN")
	f.StringVar(&o.Config, "config", "", "YAML file: {api, token_file, routes: [{name, listen, upstream, mode}]}")
	return cmd
}

// proxyRoutes turns flags or the config file into route options.
func proxyRoutes(o *proxyOptions) ([]proxy.Options, error) {
	var rcs []routeConfig
	if o.Config != "" {
		if len(o.Listen)+len(o.Upstream) > 0 {
			return nil, fmt.Errorf("--config and --listen/--upstream are exclusive")
		}
		b, err := safefile.Read(o.Config, "proxy config")
		if err != nil {
			return nil, err
		}
		var c proxyConfig
		dec := yaml.NewDecoder(strings.NewReader(string(b)))
		dec.KnownFields(true)
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf("%s: %w (valid keys: api, token_file, token, routes: [{name, listen, upstream, mode}])", o.Config, err)
		}
		if c.API != "" {
			o.API = c.API
		}
		if c.TokenFile != "" && o.TokenFile == "" && o.Token == "" {
			o.TokenFile = c.TokenFile
		}
		if c.Token != "" && o.Token == "" && o.TokenFile == "" {
			o.Token = os.ExpandEnv(c.Token)
		}
		rcs = c.Routes
	} else {
		if len(o.Listen) != len(o.Upstream) {
			return nil, fmt.Errorf("%d --listen but %d --upstream (valid: one --upstream per --listen)", len(o.Listen), len(o.Upstream))
		}
		if len(o.Mode) > 1 && len(o.Mode) != len(o.Listen) {
			return nil, fmt.Errorf("%d --mode for %d routes (valid: one for all, or one per --listen)", len(o.Mode), len(o.Listen))
		}
		for i, l := range o.Listen {
			rc := routeConfig{Listen: l, Upstream: o.Upstream[i]}
			if name, addr, ok := strings.Cut(l, "="); ok {
				rc.Name, rc.Listen = name, addr
			}
			if len(o.Mode) == 1 {
				rc.Mode = o.Mode[0]
			} else if len(o.Mode) > 1 {
				rc.Mode = o.Mode[i]
			}
			rcs = append(rcs, rc)
		}
	}
	if len(rcs) == 0 {
		return nil, fmt.Errorf("no route (valid: --listen ADDR --upstream ADDR, or --config FILE)")
	}
	var out []proxy.Options
	seen := map[string]bool{}
	for i, rc := range rcs {
		m, err := proxy.ParseMode(rc.Mode)
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i+1, err)
		}
		if rc.Name == "" {
			rc.Name = rc.Listen
		}
		if _, _, err := net.SplitHostPort(rc.Listen); err != nil {
			return nil, fmt.Errorf("route %s: listen %q is not host:port", rc.Name, rc.Listen)
		}
		if _, _, err := net.SplitHostPort(rc.Upstream); err != nil {
			return nil, fmt.Errorf("route %s: upstream %q is not host:port", rc.Name, rc.Upstream)
		}
		if seen[rc.Name] {
			return nil, fmt.Errorf("route name %q is used twice", rc.Name)
		}
		seen[rc.Name] = true
		out = append(out, proxy.Options{Name: rc.Name, Listen: rc.Listen, Upstream: rc.Upstream, Mode: m})
	}
	return out, nil
}

// runProxy starts the routes and the API and serves until ctx ends. A bad
// command line is exit 2; an address that cannot be bound is exit 4, with
// nothing left listening.
func runProxy(ctx context.Context, o proxyOptions, stdout, stderr io.Writer) error {
	opts, err := proxyRoutes(&o)
	if err != nil {
		return err
	}
	if o.Token, err = proxyToken(o, stderr); err != nil {
		return err
	}
	if o.API != "off" {
		if err := proxy.CheckBind(o.API, o.Token); err != nil {
			return err
		}
	}
	var started []*proxy.Route
	closeAll := func() {
		for _, rt := range started {
			_ = rt.Close()
		}
	}
	for _, ro := range opts {
		rt, err := proxy.Start(ro)
		if err != nil {
			closeAll()
			return &runpkg.ExitError{Code: runpkg.ExitTool, Err: err}
		}
		started = append(started, rt)
		fmt.Fprintf(stdout, "route %s (%s) listening on %s → %s\n", rt.Name(), rt.Mode(), rt.Addr(), rt.Upstream())
	}
	defer closeAll()
	var srv *http.Server
	if o.API != "off" {
		ln, err := net.Listen("tcp", o.API)
		if err != nil {
			return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("control API: listen on %s: %w", o.API, err)}
		}
		api := proxy.NewAPI(o.Token)
		api.Listen, api.AllowHosts = ln.Addr().String(), o.APIHosts
		srv = &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10}
		go func() { _ = srv.Serve(ln) }()
		auth := "no token"
		if o.Token != "" {
			auth = "token required"
		}
		fmt.Fprintf(stdout, "control API on http://%s (%s)\n", ln.Addr(), auth)
	}
	<-ctx.Done()
	fmt.Fprintf(stderr, "chaos proxy: %v: closing\n", context.Cause(ctx))
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = srv.Close()
		}
	}
	return nil
}

// proxyToken picks the control API token: --token, else --token-file (or
// the config's token_file), else $CHAOS_PROXY_TOKEN, else the config's
// token. --token and --token-file together are a mistake, not a precedence.
func proxyToken(o proxyOptions, stderr io.Writer) (string, error) {
	if o.Token != "" && o.TokenFile != "" {
		return "", fmt.Errorf("--token and --token-file are exclusive (valid: one of them; --token-file keeps the token out of ps)")
	}
	if o.TokenFile == "" {
		if o.Token != "" {
			return o.Token, nil
		}
		return os.Getenv("CHAOS_PROXY_TOKEN"), nil
	}
	b, err := safefile.ReadLimit(o.TokenFile, "token", 4096)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	tok := strings.TrimRight(string(b), "\r\n")
	switch {
	case strings.TrimSpace(tok) == "":
		return "", fmt.Errorf("--token-file %s is empty (valid: a file holding the token, e.g. made with: openssl rand -hex 32 > %s)", o.TokenFile, o.TokenFile)
	case strings.ContainsAny(tok, "\r\n"):
		return "", fmt.Errorf("--token-file %s holds more than one line (valid: the token alone, on one line)", o.TokenFile)
	}
	if st, err := os.Stat(o.TokenFile); err == nil && st.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "chaos proxy: warning: token file %s is readable by other users (mode %v); chmod 600 it\n", o.TokenFile, st.Mode().Perm())
	}
	return tok, nil
}
