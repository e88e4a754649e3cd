package experiments

import (
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/chaos-sre/chaos/faults/target"
	"github.com/chaos-sre/chaos/verify"
)

// MaxRate is the highest load rate an experiment may ask for.
const MaxRate = 100_000

// Windows are the names a check's during may use besides a fault's name.
var Windows = []string{"baseline", "faults", "recovery", "run"}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// validateExperiment applies the rules that span fields, after decoding.
// A rule about a field that already failed to decode stays quiet, so each
// mistake is reported once.
func (d *decoder) validateExperiment(e *Experiment) {
	if d.present("version") && !d.failed("version") && e.Version != Version {
		d.at("version", "unsupported version %q (valid: %s)", e.Version, Version)
	}
	if d.present("name") && strings.TrimSpace(e.Name) == "" {
		d.at("name", "must not be empty")
	}
	d.validateStack(e.Stack)
	classes := d.validateLoad(&e.Load)
	if e.SteadyState != nil {
		if d.present("steady_state.for") && !d.failed("steady_state.for") && e.SteadyState.For <= 0 {
			d.at("steady_state.for", "must be more than 0s (e.g. 10s)")
		}
		if e.SteadyState.SLO.Degraded != nil && e.Load.Degraded == nil {
			d.at("steady_state.slo.degraded", "needs load.degraded to tell degraded answers apart")
		}
	}
	faultNames := d.validateFaults(e.Faults)
	d.validateChecks(e, faultNames, classes)
	d.validateAborts(e, classes)
	d.validateVars(e)
}

// present reports whether path was written with a non-null value.
func (d *decoder) present(path string) bool {
	n, ok := d.nodes[path]
	return ok && !isNull(n)
}

func (d *decoder) validateStack(s Stack) {
	if s.Local == nil {
		return
	}
	if p := s.Local.Primaries; d.present("stack.local.primaries") && !d.failed("stack.local.primaries") && (p < 1 || p > 8) {
		d.at("stack.local.primaries", "%d is out of range (valid: 1 to 8)", p)
	}
	valid := tagEnum(reflect.TypeFor[LocalStack](), "Variant")
	for i, v := range s.Local.Variant {
		if !slices.Contains(valid, v) {
			d.at(index("stack.local.variant", i), "unknown variant %q%s", v, validList(v, valid))
		}
	}
}

// tagEnum reads the enum= values of a field's jsonschema tag, so the
// validator and the schema share one list.
func tagEnum(t reflect.Type, field string) []string {
	f, _ := t.FieldByName(field)
	var out []string
	for part := range strings.SplitSeq(f.Tag.Get("jsonschema"), ",") {
		if v, ok := strings.CutPrefix(part, "enum="); ok {
			out = append(out, v)
		}
	}
	return out
}

// validateLoad checks the load and returns its class names.
func (d *decoder) validateLoad(l *Load) []string {
	if d.present("load.url") && !d.failed("load.url") {
		d.checkURL("load.url", l.URL)
	}
	if d.present("load.method") && !d.failed("load.method") {
		valid := tagEnum(reflect.TypeFor[Load](), "Method")
		if !slices.Contains(valid, l.Method) {
			d.at("load.method", "unknown method %q%s", l.Method, validList(l.Method, valid))
		}
	}
	hasRate, hasStages := d.present("load.rate"), d.present("load.stages")
	switch {
	case hasRate && hasStages:
		d.at("load.stages", "set either rate or stages, not both")
	case !hasRate && !hasStages && d.present("load") && !d.failed("load"):
		d.at("load", "set a rate (e.g. rate: 50/s) or stages")
	case hasRate && !d.failed("load.rate"):
		d.checkRate("load.rate", float64(l.Rate), false)
	case hasStages && len(l.Stages) == 0:
		d.at("load.stages", "must list at least one stage")
	}
	for i, s := range l.Stages {
		p := index("load.stages", i)
		if !d.failed(join(p, "rate")) {
			d.checkRate(join(p, "rate"), float64(s.Rate), true)
		}
		if d.present(join(p, "ramp_to")) && !d.failed(join(p, "ramp_to")) {
			d.checkRate(join(p, "ramp_to"), float64(s.RampTo), true)
		}
		if d.present(join(p, "for")) && !d.failed(join(p, "for")) && s.For <= 0 {
			d.at(join(p, "for"), "must be more than 0s (e.g. 30s)")
		}
	}
	if d.present("load.timeout") && !d.failed("load.timeout") && l.Timeout <= 0 {
		d.at("load.timeout", "must be more than 0s (e.g. 10s)")
	}
	if d.present("load.connections") && !d.failed("load.connections") && l.Connections < 1 {
		d.at("load.connections", "%d is too few (valid: 1 or more)", l.Connections)
	}
	if m := l.Degraded; m != nil && !d.failed("load.degraded") && (m.Header == "") == (m.JSON == "") {
		d.at("load.degraded", "set exactly one of header or json")
	}
	var names []string
	sum, sharesOK := 0.0, !d.failed("load.classes")
	for i, c := range l.Classes {
		p := index("load.classes", i)
		switch {
		case c.Name == "":
			if d.present(join(p, "name")) {
				d.at(join(p, "name"), "must not be empty")
			}
		case slices.Contains(names, c.Name):
			d.at(join(p, "name"), "duplicate class name %q", c.Name)
		default:
			names = append(names, c.Name)
		}
		if d.present(join(p, "share")) && !d.failed(join(p, "share")) && c.Share <= 0 {
			d.at(join(p, "share"), "must be more than 0%%")
		}
		sum += c.Share.Fraction()
	}
	if len(l.Classes) > 0 && sharesOK && math.Abs(sum-1) > 0.001 {
		d.at("load.classes", "shares add up to %s (valid: 100%%)", strconv.FormatFloat(math.Round(sum*1000)/10, 'f', -1, 64)+"%")
	}
	return names
}

func (d *decoder) checkRate(path string, perSecond float64, zeroOK bool) {
	switch {
	case perSecond == 0 && !zeroOK:
		d.at(path, "must be more than 0/s (e.g. 50/s)")
	case perSecond > MaxRate:
		d.at(path, "%s is too fast (valid: up to %d/s)", strconv.FormatFloat(perSecond, 'f', -1, 64)+"/s", MaxRate)
	}
}

var varRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// checkURL checks that u is an http(s) URL once ${vars} are expanded.
func (d *decoder) checkURL(path, u string) {
	x := u
	if strings.HasPrefix(x, "${") { // a variable holds the scheme and host
		x = "http://var.invalid" + x[strings.IndexByte(x, '}')+1:]
	}
	parsed, err := url.Parse(varRE.ReplaceAllString(x, "var"))
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		d.at(path, "%q is not an http URL (valid: e.g. http://localhost:8080/v1/chat/completions or ${gateway}/v1/chat/completions)", u)
	}
}

func (d *decoder) validateFaults(fs []FaultSpec) []string {
	if d.present("faults") && len(fs) == 0 && !d.failed("faults") {
		d.at("faults", "must list at least one fault")
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
			d.validateTarget(join(p, "target"), f.Target)
		}
	}
	return names
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

func (d *decoder) validateTarget(path string, t target.Spec) {
	var set []string
	for _, s := range []struct {
		name string
		on   bool
	}{{"service", t.Service != ""}, {"process", t.Process != ""}, {"pid", t.Pid != 0}, {"url", t.URL != ""}} {
		if s.on {
			set = append(set, s.name)
		}
	}
	const valid = "(valid: exactly one of service, process, pid, url)"
	switch {
	case len(set) == 0:
		d.at(path, "names no target %s", valid)
	case len(set) > 1:
		d.at(join(path, set[1]), "sets both %s and %s %s", set[0], set[1], valid)
	}
	if t.Pid < 0 {
		d.at(join(path, "pid"), "%d is not a process id", t.Pid)
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
		cv := reflect.ValueOf(c.Check)
		if cv.Kind() == reflect.Pointer {
			cv = cv.Elem()
		}
		if cv.Kind() == reflect.Struct {
			if f, ok := fieldsOf(cv.Type()).lookup("class"); ok && f.typ.Kind() == reflect.String {
				d.checkClass(join(p, "class"), cv.FieldByIndex(f.index).String(), classes)
			}
		}
		if (c.Kind == "degraded" || usesDegraded(cv, 0)) && e.Load.Degraded == nil {
			d.at(join(p, "kind"), "judges degraded answers, which needs load.degraded (e.g. degraded: {header: X-Degraded, equals: \"true\"})")
		}
	}
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

// validateVars checks that every ${name} in a URL names a stack variable:
// one of stack.vars, or one the local stack sets (gateway, model-…).
func (d *decoder) validateVars(e *Experiment) {
	known := sortedKeys(e.Stack.Vars)
	if e.Stack.Local != nil {
		known = append(known, "gateway")
	}
	check := func(path, s string) {
		for _, m := range varRE.FindAllStringSubmatch(s, -1) {
			name := m[1]
			if slices.Contains(known, name) || (e.Stack.Local != nil && strings.HasPrefix(name, "model-")) {
				continue
			}
			hint := validList(name, known)
			if len(known) == 0 {
				hint = " (set it in stack.vars, or use stack: {local: {}})"
			}
			d.at(path, "no stack variable named %q%s", name, hint)
		}
	}
	check("load.url", e.Load.URL)
	for i, f := range e.Faults {
		check(join(index("faults", i), "target.url"), f.Target.URL)
	}
	for i, c := range e.Checks {
		walkStrings(reflect.ValueOf(c.Check), index("checks", i), 0, check)
	}
}

// walkStrings calls fn for every string field (by yaml path) inside v.
func walkStrings(v reflect.Value, path string, depth int, fn func(path, s string)) {
	if depth > 6 || !v.IsValid() {
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, depth+1, fn)
		}
	case reflect.String:
		if strings.Contains(v.String(), "${") {
			fn(path, v.String())
		}
	case reflect.Struct:
		for _, f := range fieldsOf(v.Type()).list {
			walkStrings(v.FieldByIndex(f.index), join(path, f.name), depth+1, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), index(path, i), depth+1, fn)
		}
	}
}
