package run

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
)

// dryWorld is what a dry run can know of the world without changing it:
// for a stack already running (stack.vars, compose, Docker), the engine's
// own resolver and variables; for the local demo stack, which a dry run
// must not start, nothing (why says so).
type dryWorld struct {
	w      *world
	why    string           // set when targets cannot be resolved now
	tokens *podproxy.Tokens // the chaos agent's, read once
}

// dryRunWorld builds the run's resolver the way prepare does, except for
// the local stack. Building it only reads: Docker is pinged and its
// containers listed.
func dryRunWorld(ctx context.Context, exp *experiments.Experiment, o Options) dryWorld {
	if exp.Stack.Local != nil {
		return dryWorld{why: "resolved at run time (local stack)"}
	}
	w, err := prepare(ctx, exp, "dry-run", o)
	if err != nil {
		return dryWorld{why: "not resolved: " + err.Error()}
	}
	_ = w.close()
	return dryWorld{w: w, tokens: &podproxy.Tokens{}}
}

// expand replaces the ${var}s known now: the world's, else stack.vars.
func (d dryWorld) expand(exp *experiments.Experiment, s string) string {
	if d.w != nil {
		return d.w.expand(s)
	}
	return (&world{vars: exp.Stack.Vars}).expand(s)
}

// writeResolved prints, under a fault's line, each target its selector
// resolves to now, or why it cannot be resolved, and for a fault the chaos
// agent brings in (viaAgent) the agent of each pod's node; a dry run never
// fails on it.
func (d dryWorld) writeResolved(ctx context.Context, out io.Writer, spec targets.Spec, viaAgent bool) {
	const indent = "      "
	if d.w == nil {
		fmt.Fprintf(out, "%s%s\n", indent, d.why)
		return
	}
	ts, err := d.w.resolver.Resolve(ctx, spec)
	if err != nil {
		fmt.Fprintf(out, "%snot resolved: %v\n", indent, err)
		return
	}
	for _, t := range ts {
		fmt.Fprintf(out, "%s→ %s\n", indent, describeResolved(t))
		if viaAgent && d.w.kube != nil {
			fmt.Fprintf(out, "%s  %s\n", indent, agentLine(ctx, t, d.tokens))
		}
		if c, ok := t.Proxy.(interface{ Check(context.Context) error }); ok {
			if err := c.Check(ctx); err != nil {
				fmt.Fprintf(out, "%s  not usable now: %v\n", indent, err)
			}
		}
	}
	if p := strings.TrimSpace(spec.Pick); p != "" && p != "all" {
		fmt.Fprintf(out, "%spick %s of these %d at run time\n", indent, p, len(ts))
	}
}

// describeTarget is a target's selector as written (after no expansion):
// what the run will look for. It never shows a token.
func describeTarget(s targets.Spec) string {
	if d := describeKubeTarget(s); d != "" {
		return d
	}
	switch {
	case s.Service != "" && s.Project != "":
		return fmt.Sprintf("service %s of project %s", s.Service, s.Project)
	case s.Service != "":
		return "service " + s.Service
	case s.Process != "":
		return "process " + s.Process
	case s.Pid > 0:
		return fmt.Sprintf("pid %d", s.Pid)
	case s.Cmdline != "":
		return fmt.Sprintf("cmdline %q", s.Cmdline)
	case s.Pidfile != "":
		return "pidfile " + s.Pidfile
	case s.Port > 0:
		return fmt.Sprintf("port %d", s.Port)
	case s.URL != "":
		return "url " + s.URL
	case s.Container != "":
		return "container " + s.Container
	case len(s.Labels) > 0:
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
			kv = append(kv, k+"="+s.Labels[k])
		}
		return "labels " + strings.Join(kv, ",")
	case s.Proxy != "" && s.API != "":
		return fmt.Sprintf("proxy %s at %s", s.Proxy, s.API)
	case s.Proxy != "":
		return "proxy " + s.Proxy + " (in this process)"
	}
	return "no target"
}

// describeResolved names one resolved target with what identifies it: its
// name, short container id, pid, address and the proxy in front of it.
func describeResolved(t targets.Target) string {
	name, via := t.Name, ""
	if t.Proxy != nil {
		if strings.HasPrefix(t.Name, "proxy ") {
			name = "proxy " + t.Proxy.Name() // the route and where it is driven
		} else {
			via = "via proxy " + t.Proxy.Name()
		}
	}
	parts := []string{name}
	parts = append(parts, describeKube(t.Kube)...)
	if t.Container != "" {
		parts = append(parts, "container "+t.Container[:min(12, len(t.Container))])
	}
	if pid := fmt.Sprintf("pid %d", t.Pid); t.Pid > 0 && pid != t.Name {
		parts = append(parts, pid)
	}
	if t.Addr != "" {
		parts = append(parts, "at "+t.Addr)
	}
	if via != "" {
		parts = append(parts, via)
	}
	return strings.Join(parts, ", ")
}

// CommandProgram is the argv a command check will run, after the ${var}s
// expand knows, as one shell-quoted line; ok is false for other checks.
func CommandProgram(c experiments.CheckSpec, expand func(string) string) (line string, ok bool) {
	cc, ok := c.Check.(*verify.CommandCheck)
	if !ok {
		return "", false
	}
	argv := make([]string, len(cc.Run))
	for i, a := range cc.Run {
		if expand != nil {
			a = expand(a)
		}
		argv[i] = shellQuote(a)
	}
	return strings.Join(argv, " "), true
}

// WritePrograms prints the program of each command check of exp, with the
// stack.vars expanded (the rest expand at run time): what `chaos validate`
// shows, so a reviewer sees what a check will execute.
func WritePrograms(out io.Writer, exp *experiments.Experiment) {
	expand := (&world{vars: exp.Stack.Vars}).expand
	for _, c := range exp.Checks {
		if line, ok := CommandProgram(c, expand); ok {
			fmt.Fprintf(out, "  check %s runs: %s%s\n", c.Name, line, unsetVars(line))
		}
	}
}

// unsetVars notes the ${var}s left in a program line, set only at run time.
func unsetVars(line string) string {
	vs := varRe.FindAllString(line, -1)
	if len(vs) == 0 {
		return ""
	}
	return "  (" + strings.Join(slices.Compact(vs), ", ") + " set at run time)"
}

var plainArg = regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`)

// shellQuote quotes an argument for a POSIX shell, so a printed argv can be
// read unambiguously and pasted.
func shellQuote(s string) string {
	if plainArg.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
