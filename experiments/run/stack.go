package run

import (
	"context"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/targets"
)

// world is what the run works against: the resolver for targets, the ${var}
// values for URLs, and whatever the run started and must stop.
type world struct {
	resolver targets.Resolver
	vars     map[string]string
	started  []string
	procs    map[string]StackProcess
	close    func() error
	// kube is the resolver of a Kubernetes stack, nil for other stacks:
	// the checks that judge the cluster (pods, events) read it.
	kube *targets.Kubernetes
}

// prepare starts the local stack when the experiment asks for one (through
// o.Stacks, with a fault proxy in front of every backend process), and
// builds the resolver: Kubernetes for stack.kubernetes, Docker for a
// compose stack or container targets.
func prepare(ctx context.Context, exp *experiments.Experiment, runID string, o Options) (*world, error) {
	w := &world{vars: map[string]string{}, procs: map[string]StackProcess{}, close: func() error { return nil }}
	for k, v := range exp.Stack.Vars {
		w.vars[k] = v
	}
	static := &targets.Static{}
	w.resolver = static
	static.Expand = w.expand
	if exp.Stack.Kubernetes != nil && exp.Stack.Local == nil {
		return w, w.useKube(ctx, exp, static)
	}
	if exp.Stack.Local == nil {
		return w, w.useDocker(ctx, exp, static)
	}
	if err := w.startLocal(ctx, exp.Stack.Local, runID, o, static); err != nil {
		return nil, err
	}
	return w, nil
}

// refresh re-reads pids of local stack processes (they change on restart).
func (w *world) refresh(ts []targets.Target) []targets.Target {
	out := make([]targets.Target, 0, len(ts))
	for _, t := range ts {
		if p, ok := w.procs[t.Name]; ok {
			t.Pid = p.Pid()
		}
		out = append(out, t)
	}
	return out
}

var varRe = regexp.MustCompile(`\$\{((?:env:)?[A-Za-z0-9_.-]+)\}`)

// reservedVars are left in place for the check that fills them in.
var reservedVars = map[string]bool{"window": true}

// expand replaces ${name} with a stack variable (stack.vars, --var, or one
// the stack sets such as ${gateway}) and ${env:NAME} with the environment
// variable NAME. Unknown names stay as they are, for expandAll to report.
func (w *world) expand(s string) string {
	return varRe.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if env, ok := strings.CutPrefix(name, "env:"); ok {
			if v, ok := os.LookupEnv(env); ok {
				return v
			}
			return m
		}
		if v, ok := w.vars[name]; ok {
			return v
		}
		return m
	})
}

// unknownVars lists the ${names} of s that expand cannot fill in.
func unknownVars(s string) []string {
	var out []string
	for _, m := range varRe.FindAllStringSubmatch(s, -1) {
		if !reservedVars[m[1]] {
			out = append(out, m[1])
		}
	}
	return out
}

// expander is a field type that holds text with ${vars} but is not a plain
// string (a PromQL query): it expands itself.
type expander interface {
	ExpandVars(expand func(string) string)
}

// expandAll replaces ${var} in every string field reachable from v (a
// pointer), and reports variables that are not defined.
func (w *world) expandAll(where string, v any) error {
	var missing []string
	var walk func(rv reflect.Value)
	walk = func(rv reflect.Value) {
		switch rv.Kind() {
		case reflect.Interface:
			if rv.IsNil() {
				return
			}
			if e := rv.Elem(); e.Kind() == reflect.String && rv.CanSet() {
				s := w.expand(e.String())
				missing = append(missing, unknownVars(s)...)
				rv.Set(reflect.ValueOf(s))
				return
			}
			walk(rv.Elem())
		case reflect.Pointer:
			if !rv.IsNil() {
				walk(rv.Elem())
			}
		case reflect.Struct:
			if rv.CanAddr() {
				if x, ok := rv.Addr().Interface().(expander); ok {
					x.ExpandVars(func(s string) string {
						s = w.expand(s)
						missing = append(missing, unknownVars(s)...)
						return s
					})
					return
				}
			}
			for i := 0; i < rv.NumField(); i++ {
				if rv.Type().Field(i).IsExported() {
					walk(rv.Field(i))
				}
			}
		case reflect.Slice:
			for i := 0; i < rv.Len(); i++ {
				walk(rv.Index(i))
			}
		case reflect.Map:
			for _, k := range rv.MapKeys() {
				v := reflect.New(rv.Type().Elem()).Elem()
				v.Set(rv.MapIndex(k))
				walk(v)
				rv.SetMapIndex(k, v)
			}
		case reflect.String:
			s := w.expand(rv.String())
			missing = append(missing, unknownVars(s)...)
			if rv.CanSet() {
				rv.SetString(s)
			}
		}
	}
	walk(reflect.ValueOf(v))
	if len(missing) > 0 {
		if env, ok := strings.CutPrefix(missing[0], "env:"); ok {
			return invalid("%s: ${%s}: the environment variable %s is not set", where, missing[0], env)
		}
		return invalid("%s: unknown variable ${%s} (valid: %s)", where, missing[0], strings.Join(w.varNames(), ", "))
	}
	return nil
}

func (w *world) varNames() []string {
	names := make([]string, 0, len(w.vars))
	for k := range w.vars {
		names = append(names, "${"+k+"}")
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none defined: set stack.vars or use stack.local"}
	}
	return names
}
