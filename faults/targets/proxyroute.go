package targets

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/chaos-sre/chaos/faults/proxy"
)

// APIProxy is a route of a `chaos proxy` in another process, driven through
// its control API. Journal gives `chaos recover` what it needs to remove a
// fault from yet another process: the API, the route, the fault id and the
// name of the environment variable holding the token — never the token, as
// journals and reports are files others read.
type APIProxy struct {
	*proxy.Client
	TokenEnv string
}

// Journal is the journal data of fault id on this route.
func (p *APIProxy) Journal(id string) map[string]string {
	d := map[string]string{"api": p.API, "route": p.Route, "id": id}
	if p.TokenEnv != "" {
		d["token_env"] = p.TokenEnv
	}
	return d
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// TokenHint is how to give a control API token, for messages refusing one
// written in a file.
const TokenHint = "write ${NAME} and export NAME=…, so the token stays out of files and journals"

// TokenRef returns NAME when token is exactly ${NAME}, the only form a
// target's token may take.
func TokenRef(token string) (string, bool) {
	m := envRef.FindStringSubmatch(token)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// ResolveProxy resolves `target: {proxy: ROUTE, api: URL, token: ${NAME}}`:
// a remote route when api is set, otherwise a route of this process. expand
// (may be nil) replaces ${var}s of the stack in api; the token is read from
// the environment variable NAME (stack vars are written in the file, so
// they never stand for a token), and a literal token is refused.
func ResolveProxy(spec Spec, expand func(string) string) ([]Target, error) {
	if expand == nil {
		expand = func(s string) string { return s }
	}
	if spec.API == "" {
		rt, ok := proxy.Lookup(spec.Proxy)
		if !ok {
			var names []string
			for _, r := range proxy.Routes() {
				names = append(names, r.Name())
			}
			if len(names) == 0 {
				names = []string{"none in this process; for a chaos proxy set api: URL"}
			}
			return nil, fmt.Errorf("target proxy %q matches no route (valid: %s)", spec.Proxy, strings.Join(names, ", "))
		}
		return []Target{{Name: "proxy " + spec.Proxy, Addr: rt.Upstream(), Proxy: rt}}, nil
	}
	api := expand(spec.API)
	var token, tokenEnv string
	if spec.Token != "" {
		name, ok := TokenRef(spec.Token)
		if !ok {
			return nil, Refusef("target proxy %q: token is written in the file (valid: %s)", spec.Proxy, TokenHint)
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("target proxy %q: token ${%s}: no such environment variable (export %s=…)", spec.Proxy, name, name)
		}
		token, tokenEnv = v, name
	}
	c := proxy.NewClient(api, spec.Proxy, token)
	return []Target{{Name: "proxy " + spec.Proxy, Proxy: &APIProxy{Client: c, TokenEnv: tokenEnv}}}, nil
}
