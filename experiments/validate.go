package experiments

import (
	"math"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	d.kubeWritten("stack.kubernetes", &e.Stack)
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
	faultNames := d.validateFaults(e.Faults, e.Stack.Kubernetes != nil)
	d.validateTokens(e)
	d.validateGuards(e.Faults)
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
	if s.Project != "" && s.Compose == "" {
		d.at("stack.project", "needs stack.compose (the compose file of the stack)")
	}
	d.validateKubeStack(s)
	if s.Local == nil {
		return
	}
	if s.Compose != "" {
		d.at("stack.compose", "set either local or compose, not both")
	}
	if p := s.Local.Primaries; d.present("stack.local.primaries") && !d.failed("stack.local.primaries") && (p < 1 || p > 8) {
		d.at("stack.local.primaries", "%d is out of range (valid: 1 to 8)", p)
	}
	d.validateVariants("stack.local.variant", s.Local.Variant)
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
