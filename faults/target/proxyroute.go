package target

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
// token — or only the name of the environment variable holding it.
type APIProxy struct {
	*proxy.Client
	TokenEnv string
}

// Journal is the journal data of fault id on this route.
func (p *APIProxy) Journal(id string) map[string]string {
	d := map[string]string{"api": p.API, "route": p.Route, "id": id}
	switch {
	case p.TokenEnv != "":
		d["token_env"] = p.TokenEnv
	case p.Token != "":
		d["token"] = p.Token
	}
	return d
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// ResolveProxy resolves `target: {proxy: ROUTE, api: URL, token: T}`: a
// remote route when api is set, otherwise a route of this process. expand
// (may be nil) replaces ${var}s of the stack first; a token left as
// ${NAME} is read from the environment.
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
	token, tokenEnv := expand(spec.Token), ""
	if m := envRef.FindStringSubmatch(token); m != nil {
		tokenEnv = m[1]
		v, ok := os.LookupEnv(tokenEnv)
		if !ok {
			return nil, fmt.Errorf("target proxy %q: token ${%s}: no such environment variable", spec.Proxy, tokenEnv)
		}
		token = v
	}
	c := proxy.NewClient(api, spec.Proxy, token)
	return []Target{{Name: "proxy " + spec.Proxy, Proxy: &APIProxy{Client: c, TokenEnv: tokenEnv}}}, nil
}
