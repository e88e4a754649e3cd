package experiments

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
)

func (d *decoder) validateFaults(fs []FaultSpec, kube bool) []string {
	if d.present("faults") && len(fs) == 0 && !d.failed("faults") {
		d.at("faults", "is empty (valid: at least one fault, or leave faults out for a load-only run that judges the steady state and reports capacity)")
	}
	var names []string
	for i, f := range fs {
		p := index("faults", i)
		d.checkName(join(p, "name"), f.Name, "fault", names)
		if !slices.Contains(names, f.Name) {
			names = append(names, f.Name)
		}
		if d.present(join(p, "for")) && !d.failed(join(p, "for")) && f.For <= 0 {
			d.at(join(p, "for"), "must be more than 0s (e.g. 30s)")
		}
		if d.present(join(p, "target")) && !d.failed(join(p, "target")) {
			d.validateTarget(join(p, "target"), f.Target, kube)
		}
		d.validateKubeKind(p, f, kube)
	}
	d.checkOverlaps(fs)
	return names
}

// checkOverlaps refuses two faults of one kind on the same target whose
// windows overlap: the second would save the first's change (a limit, a
// pause) as the state to restore, and leave it on for good. Targets that
// only turn out the same once resolved are refused by the engine.
func (d *decoder) checkOverlaps(fs []FaultSpec) {
	for j := range fs {
		for i := range j {
			a, b := fs[i], fs[j]
			if a.Kind != b.Kind || a.Kind == "" || !sameTarget(a.Target, b.Target) {
				continue
			}
			if a.At < b.At+b.For && b.At < a.At+a.For {
				d.at(join(index("faults", j), "at"), "overlaps faults[%d] (%s): both are %s on the same target from +%s to +%s and +%s to +%s (valid: one %s per target at a time; merge them, or start %s at +%s or later)",
					i, a.Name, a.Kind, a.At, a.At+a.For, b.At, b.At+b.For, a.Kind, b.Name, a.At+a.For)
			}
		}
	}
}

// sameTarget reports whether two specs name the same targets for sure:
// equal selectors, each picking all of them.
func sameTarget(a, b targets.Spec) bool {
	all := func(p string) bool { return p == "" || p == "all" }
	if !all(a.Pick) || !all(b.Pick) {
		return false
	}
	a.Pick, b.Pick = "", ""
	return reflect.DeepEqual(a, b)
}

// checkName checks a fault or check name: set and unique; a fault name,
// which checks refer to in `during`, must also be an identifier. Check names
// are free text ("breaker opens") since they only label results.
func (d *decoder) checkName(path, name, what string, before []string) {
	switch {
	case !d.present(path) || d.failed(path):
	case name == "":
		d.at(path, "must not be empty")
	case what == "fault" && !nameRE.MatchString(name):
		d.at(path, "%q is not a valid %s name (valid: lower-case letters, digits, '.', '_' and '-', e.g. slow-primary)", name, what)
	case slices.Contains(before, name):
		d.at(path, "duplicate %s name %q", what, name)
	}
}

var pickRE = regexp.MustCompile(`^(all|one|[0-9]+%?)$`)

func (d *decoder) validateTarget(path string, t targets.Spec, kube bool) {
	var set []string
	for _, s := range []struct {
		name string
		on   bool
	}{{"service", t.Service != ""}, {"process", t.Process != ""}, {"pid", t.Pid != 0},
		{"cmdline", t.Cmdline != ""}, {"pidfile", t.Pidfile != "" || d.present(join(path, "pidfile"))}, {"port", t.Port != 0 || d.present(join(path, "port"))},
		{"url", t.URL != ""}, {"container", t.Container != ""}, {"labels", len(t.Labels) > 0}, {"proxy", t.Proxy != ""},
		{"pod", t.Pod != ""}, {"deployment", t.Deployment != ""}, {"statefulset", t.StatefulSet != ""}, {"node", t.Node != ""}} {
		if s.on {
			set = append(set, s.name)
		}
	}
	const valid = "(valid: exactly one of service, process, pid, cmdline, pidfile, port, url, container, labels, proxy)"
	switch {
	case kube:
		d.kubeTarget(path, t, set)
	case d.kubeOnly(path, t):
	case len(set) == 0:
		d.at(path, "names no target %s", valid)
	case len(set) > 1:
		d.at(join(path, set[1]), "sets both %s and %s %s", set[0], set[1], valid)
	}
	if t.Project != "" && t.Service == "" && !kube {
		d.at(join(path, "project"), "needs service (project picks a compose project's service)")
	}
	if t.Pid < 0 {
		d.at(join(path, "pid"), "%d is not a process id", t.Pid)
	}
	if t.Cmdline != "" {
		if _, err := regexp.Compile(t.Cmdline); err != nil {
			d.at(join(path, "cmdline"), "%q is not a regular expression: %v (valid: a Go regular expression, e.g. ^nginx: master)", t.Cmdline, err)
		}
	}
	if d.present(join(path, "pidfile")) && strings.TrimSpace(t.Pidfile) == "" {
		d.at(join(path, "pidfile"), "must not be empty (valid: the path of a pid file, e.g. /run/nginx.pid)")
	}
	if (t.Port != 0 || d.present(join(path, "port"))) && (t.Port < 1 || t.Port > 65535) {
		d.at(join(path, "port"), "%d is not a TCP port (valid: 1 to 65535)", t.Port)
	}
	if (t.API != "" || t.Token != "") && t.Proxy == "" {
		d.at(join(path, map[bool]string{true: "api", false: "token"}[t.API != ""]), "needs proxy (api and token name a chaos proxy's control API)")
	}
	if t.Token != "" && t.API == "" {
		d.at(join(path, "token"), "needs api (the token is sent to a chaos proxy's control API)")
	}
	if t.API != "" {
		d.checkURL(join(path, "api"), t.API)
	}
	if t.URL != "" {
		d.checkURL(join(path, "url"), t.URL)
	}
	if t.Pick != "" && !validPick(t.Pick) {
		d.at(join(path, "pick"), "%q is not a pick (valid: all, one, a number of targets like 2, or a share from 1%% to 100%%)", t.Pick)
	}
}

func validPick(s string) bool {
	if !pickRE.MatchString(s) {
		return false
	}
	if s == "all" || s == "one" {
		return true
	}
	n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
	if err != nil || n < 1 {
		return false
	}
	return !strings.HasSuffix(s, "%") || n <= 100
}

func (d *decoder) validateChecks(e *Experiment, faultNames, classes []string) {
	var names []string
	for i, c := range e.Checks {
		p := index("checks", i)
		d.checkName(join(p, "name"), c.Name, "check", names)
		names = append(names, c.Name)
		if c.During != "" && !d.failed(join(p, "during")) {
			if j := slices.IndexFunc(e.Faults, func(f FaultSpec) bool { return f.Name == c.During }); j >= 0 {
				if f := e.Faults[j]; c.After > 0 && f.For > 0 && c.After >= f.For {
					d.at(join(p, "after"), "%s is not inside fault %q, which lasts %s", c.After, f.Name, f.For)
				}
			} else if !slices.Contains(Windows, c.During) {
				valid := append(slices.Clone(faultNames), Windows...)
				d.at(join(p, "during"), "no fault named %q%s", c.During, validList(c.During, valid))
			}
		}
		if c.Check == nil {
			continue
		}
		d.validateKubeCheck(e, p, c)
		cv := reflect.ValueOf(c.Check)
		if cv.Kind() == reflect.Pointer {
			cv = cv.Elem()
		}
		if cv.Kind() == reflect.Struct {
			if f, ok := fieldsOf(cv.Type()).lookup("class"); ok && f.typ.Kind() == reflect.String {
				d.checkClass(join(p, "class"), cv.FieldByIndex(f.index).String(), classes)
			}
		}
		if (judgesDegraded(c.Check) || usesDegraded(cv, 0)) && e.Load.Degraded == nil {
			d.at(join(p, "kind"), "judges degraded answers, which needs load.degraded (e.g. degraded: {header: X-Degraded, equals: \"true\"})")
		}
	}
}

// judgesDegraded reports whether a check says it judges degraded answers.
func judgesDegraded(c verify.Check) bool {
	j, ok := c.(interface{ JudgesDegraded() bool })
	return ok && j.JudgesDegraded()
}

// usesDegraded reports whether a check value holds an SLO with a degraded bound.
func usesDegraded(v reflect.Value, depth int) bool {
	if depth > 4 || !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return !v.IsNil() && usesDegraded(v.Elem(), depth+1)
	case reflect.Struct:
		if s, ok := v.Interface().(verify.SLO); ok {
			return s.Degraded != nil
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && usesDegraded(v.Field(i), depth+1) {
				return true
			}
		}
	}
	return false
}

func (d *decoder) checkClass(path, class string, classes []string) {
	switch {
	case class == "" || d.failed(path):
	case len(classes) == 0:
		d.at(path, "no class named %q: load.classes is empty", class)
	case !slices.Contains(classes, class):
		d.at(path, "no class named %q%s", class, validList(class, classes))
	}
}

func (d *decoder) validateAborts(e *Experiment, classes []string) {
	for i, a := range e.Abort {
		p := index("abort", i)
		if d.present(join(p, "when")) && !d.failed(join(p, "when")) {
			c, err := ParseCondition(a.When)
			if err != nil {
				d.at(join(p, "when"), "%v", err)
			} else if c.Metric == "degraded_share" && e.Load.Degraded == nil {
				d.at(join(p, "when"), "degraded_share needs load.degraded to tell degraded answers apart")
			}
		}
		d.checkClass(join(p, "class"), a.Class, classes)
	}
}
