package targets

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Static resolves specs against a fixed list of known targets (the processes
// of a local stack), then against local processes by pid, name, command
// line, pid file or listening port, and turns URLs into URL targets. It is the resolver of stacks run as local processes.
type Static struct {
	Known []Target
	// Expand replaces ${name} variables in URLs; nil leaves them as they are.
	Expand func(string) string
}

var _ Resolver = (*Static)(nil)

// Resolve implements Resolver.
func (s *Static) Resolve(ctx context.Context, spec Spec) ([]Target, error) {
	switch {
	case spec.Proxy != "":
		return ResolveProxy(spec, s.Expand)
	case spec.URL != "":
		u := spec.URL
		if s.Expand != nil {
			u = s.Expand(u)
		}
		return []Target{{Name: u, URL: u}}, nil
	case spec.Service != "":
		var out []Target
		for _, t := range s.Known {
			if t.Service == spec.Service {
				out = append(out, t)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("target service %q matches nothing (valid: %s)", spec.Service, strings.Join(s.services(), ", "))
		}
		return out, nil
	case spec.Process != "":
		for _, t := range s.Known {
			if t.Name == spec.Process {
				return []Target{t}, nil
			}
		}
		return s.byName(spec)
	case spec.Pid != 0:
		for _, t := range s.Known {
			if t.Pid == spec.Pid {
				return []Target{t}, nil
			}
		}
		return guardPid(spec)
	case spec.Cmdline != "":
		return s.byCmdline(spec)
	case spec.Pidfile != "":
		return s.byPidfile(spec)
	case spec.Port != 0:
		return s.byPort(spec)
	}
	return nil, fmt.Errorf("target names nothing (valid: one of service, process, pid, cmdline, pidfile, port, url, proxy)")
}

func (s *Static) services() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range s.Known {
		if t.Service != "" && !seen[t.Service] {
			seen[t.Service] = true
			out = append(out, t.Service)
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return []string{"none: this stack has no services"}
	}
	return out
}

func (s *Static) names() []string {
	out := make([]string, 0, len(s.Known))
	for _, t := range s.Known {
		out = append(out, t.Name)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}

// byName resolves a process name no stack process has: chaos's own user's
// processes of that name, refusing the host's runtime, chaos's ancestors and
// kernel threads, and more than one match unless the spec picks.
func (s *Static) byName(spec Spec) ([]Target, error) {
	if field, why := StaticRefusal(spec); field == "process" {
		return nil, Refusef("target process %s", why)
	}
	ps, others, err := procsByName(spec.Process, spec.AllowHost)
	if err != nil {
		return nil, fmt.Errorf("target process %q: %w", spec.Process, err)
	}
	if len(ps) == 0 {
		left := ""
		if others > 0 {
			left = fmt.Sprintf("; %d of other users' left out, allow_host: true includes them", others)
		}
		return nil, fmt.Errorf("target process %q matches nothing (no stack process of that name, no running process of yours with that name%s; stack processes: %s)", spec.Process, left, strings.Join(s.names(), ", "))
	}
	return s.guarded(fmt.Sprintf("process %q", spec.Process), spec, ps, func(p proc) Target {
		return Target{Name: spec.Process + "[" + strconv.Itoa(p.pid) + "]", Pid: p.pid}
	})
}

// guarded turns the processes a selector (what, e.g. `process "x"`)
// matched into targets through mk. It refuses them all when one is refused
// (chaos itself or an ancestor, a kernel thread, and without allow_host
// init, the host's runtime or another user's process), and more than one
// match unless the spec picks, listing them.
func (s *Static) guarded(what string, spec Spec, ps []proc, mk func(proc) Target) ([]Target, error) {
	mine := lineage()
	out := make([]Target, 0, len(ps))
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		t := mk(p)
		if why := refusal(p, spec.AllowHost, mine); why != "" {
			many := ""
			if len(ps) > 1 {
				many = fmt.Sprintf(" %d processes; one of them,", len(ps))
			}
			return nil, Refusef("target %s matches%s %s, refused: %s", what, many, t.Name, why)
		}
		out = append(out, t)
		names = append(names, t.Name)
	}
	if len(out) > 1 && spec.Pick == "" {
		return nil, Refusef("target %s matches %d processes (%s) and chaos does not guess (valid: pick: all to hit every one, pick: one, N or N%%, or pid: to name one)", what, len(out), strings.Join(first(names, 20), ", "))
	}
	return out, nil
}

// Pick chooses among matches: "all" (or empty), "one", a count "N", or a share
// "N%" (rounded up, at least one). The choice is random through rng, so a
// seeded rng repeats it.
func Pick(ts []Target, pick string, rng *rand.Rand) ([]Target, error) {
	n := len(ts)
	switch p := strings.TrimSpace(pick); {
	case p == "" || p == "all":
		return ts, nil
	case p == "one":
		n = 1
	case strings.HasSuffix(p, "%"):
		v, err := strconv.ParseFloat(strings.TrimSuffix(p, "%"), 64)
		if err != nil || v <= 0 || v > 100 {
			return nil, fmt.Errorf("pick %q is not valid (valid: all, one, N, N%% with N%% from 1%% to 100%%)", pick)
		}
		n = int(float64(len(ts))*v/100 + 0.999999)
	default:
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("pick %q is not valid (valid: all, one, N, N%%)", pick)
		}
		if v > len(ts) {
			return nil, fmt.Errorf("pick %d but only %d targets match", v, len(ts))
		}
		n = v
	}
	if n < 1 {
		n = 1
	}
	idx := rng.Perm(len(ts))[:n]
	sort.Ints(idx)
	out := make([]Target, 0, n)
	for _, i := range idx {
		out = append(out, ts[i])
	}
	return out, nil
}
