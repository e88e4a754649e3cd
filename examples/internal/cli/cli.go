// Package cli holds what the example programs share: every flag can also come
// from an environment variable (so one binary is configured by flags on a
// command line and by env vars in a compose file), the healthcheck mode, and
// serving until the context ends.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// EnvName is the environment variable that sets flag name under prefix:
// EnvName("MODEL", "token-delay") is MODEL_TOKEN_DELAY.
func EnvName(prefix, name string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Parse applies PREFIX_NAME environment variables (looked up with getenv) to
// fs's flags, then parses args, so a flag on the command line wins over the
// environment.
func Parse(fs *flag.FlagSet, prefix string, args []string, getenv func(string) string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil {
			return
		}
		env := EnvName(prefix, f.Name)
		if v := getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("environment %s=%q: %w", env, v, e)
			}
		}
	})
	if err != nil {
		return err
	}
	return fs.Parse(args)
}

// Check GETs url (with a 2 s limit) and returns nil only for a 2xx answer;
// it is the body of the "healthcheck" mode that docker healthchecks run in
// FROM-scratch images, where there is no curl.
func Check(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("check %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("check %s: %w", url, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("check %s: status %d", url, resp.StatusCode)
	}
	return nil
}

// LocalURL turns a listen address (":8080", "0.0.0.0:8080",
// "127.0.0.1:8080") into the http URL of path on the loopback interface.
func LocalURL(listen, path string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen + path
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + path
}
