package experiments

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/verify"
)

// Variables: ${name} is a stack variable (stack.vars, --var, or one the
// stack sets: ${gateway}, ${model-primary-0} …), ${env:NAME} the
// environment variable NAME. They expand in every string field, a PromQL
// query included; ${window} is reserved for the promql check, which fills
// in its window's length.

// envVarRE is a valid ${env:NAME}.
var envVarRE = regexp.MustCompile(`^env:[A-Za-z_][A-Za-z0-9_]*$`)

// setVars puts the command line's variables (--var) over stack.vars.
func (d *decoder) setVars(e *Experiment) {
	if len(d.reg.Vars) == 0 {
		return
	}
	if e.Stack.Vars == nil {
		e.Stack.Vars = map[string]string{}
	}
	maps.Copy(e.Stack.Vars, d.reg.Vars)
}

// validateVars checks every ${name} in every string field of e: a known
// stack variable, a well-formed ${env:NAME}, or ${window} inside a promql
// query. A compose stack's own variables (its services' published ports)
// and a Kubernetes stack's (its Services' cluster addresses) are known only
// once the stack is found, so there unknown names wait for preflight.
func (d *decoder) validateVars(e *Experiment) {
	known := slices.Sorted(maps.Keys(e.Stack.Vars))
	if e.Stack.Local != nil {
		known = append(known, "gateway")
	}
	check := func(path, s string, query bool) {
		if strings.HasSuffix(path, "target.token") {
			return // ${NAME} there is always the environment (validate_token.go)
		}
		for _, m := range varRE.FindAllStringSubmatch(s, -1) {
			name := m[1]
			switch {
			case strings.HasPrefix(name, "env:"):
				if !envVarRE.MatchString(name) {
					d.at(path, "${%s} is not an environment variable reference (valid: ${env:NAME} with NAME of letters, digits and _)", name)
				}
				continue
			case name == "window" && query:
				continue
			case name == "window":
				d.at(path, "${window} is the promql check's window length and means nothing here (valid: a stack variable or ${env:NAME})")
				continue
			case slices.Contains(known, name), e.Stack.Local != nil && strings.HasPrefix(name, "model-"), e.Stack.Compose != "", e.Stack.Kubernetes != nil:
				continue
			}
			hint := validList(name, known)
			if len(known) == 0 {
				hint = " (set it in stack.vars or with --var " + name + "=VALUE, or use stack: {local: {}})"
			}
			d.at(path, "no stack variable named %q%s", name, hint)
		}
	}
	walkStrings(reflect.ValueOf(e.Load), "load", 0, check)
	for i, f := range e.Faults {
		p := index("faults", i)
		walkStrings(reflect.ValueOf(f.Target), join(p, "target"), 0, check)
		walkStrings(reflect.ValueOf(faults.ParamsOf(f.Params)), join(p, "params"), 0, check)
	}
	for i, c := range e.Checks {
		walkStrings(reflect.ValueOf(c.Check), index("checks", i), 0, check)
	}
}

// walkStrings calls fn for every string (by yaml path) inside v that holds
// a ${: struct fields, slices, maps and JSON-like values; query is true
// for a PromQL query.
func walkStrings(v reflect.Value, path string, depth int, fn func(path, s string, query bool)) {
	if depth > 16 || !v.IsValid() {
		return
	}
	if q, ok := v.Interface().(verify.PromQL); ok {
		if strings.Contains(q.String(), "${") {
			fn(path, q.String(), true)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, depth+1, fn)
		}
	case reflect.String:
		if strings.Contains(v.String(), "${") {
			fn(path, v.String(), false)
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()).list {
			walkStrings(v.FieldByIndex(f.index), join(path, f.name), depth+1, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), index(path, i), depth+1, fn)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		for _, k := range keys {
			walkStrings(v.MapIndex(k), join(path, fmt.Sprint(k)), depth+1, fn)
		}
	}
}
