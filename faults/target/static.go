package target

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Static resolves specs against a fixed list of known targets (the processes
// of a local stack), then against local processes by pid or name, and turns
// URLs into URL targets. It is the resolver of stacks run as local processes.
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
		pids, err := pidsByName(spec.Process)
		if err != nil {
			return nil, err
		}
		if len(pids) == 0 {
			return nil, fmt.Errorf("target process %q matches nothing (no stack process of that name, no running process with that name; stack processes: %s)", spec.Process, strings.Join(s.names(), ", "))
		}
		out := make([]Target, 0, len(pids))
		for _, pid := range pids {
			out = append(out, Target{Name: spec.Process + "[" + strconv.Itoa(pid) + "]", Pid: pid})
		}
		return out, nil
	case spec.Pid > 0:
		for _, t := range s.Known {
			if t.Pid == spec.Pid {
				return []Target{t}, nil
			}
		}
		if _, err := os.Stat("/proc/" + strconv.Itoa(spec.Pid)); err != nil {
			return nil, fmt.Errorf("target pid %d: no such process", spec.Pid)
		}
		return []Target{{Name: "pid " + strconv.Itoa(spec.Pid), Pid: spec.Pid}}, nil
	}
	return nil, fmt.Errorf("target names nothing (valid: one of service, process, pid, url, proxy)")
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

// pidsByName lists processes whose /proc/PID/comm equals name.
func pidsByName(name string) ([]int, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*/comm")
	if err != nil {
		return nil, err
	}
	self := os.Getpid()
	var pids []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || strings.TrimSpace(string(b)) != name {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if pid != self {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids, nil
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
