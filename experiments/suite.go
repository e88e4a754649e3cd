package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	cron "github.com/netresearch/go-cron"
	"go.yaml.in/yaml/v3"

	"github.com/chaos-sre/chaos/internal/safefile"
	"github.com/chaos-sre/chaos/internal/units"
)

// SuiteKind is the value of `kind` that marks a file as a suite (a game-day)
// rather than a single experiment.
const SuiteKind = "suite"

// Suite is a game-day: experiments run one after another against a shared
// stack, with a cool-down and a steady-state gate between them, their
// reports kept in a dated folder per run.
type Suite struct {
	Version     string `yaml:"version" jsonschema:"enum=chaos/v1"`
	Kind        string `yaml:"kind" jsonschema:"description=marks the file as a suite,enum=suite"`
	Name        string `yaml:"name" jsonschema:"description=names the suite in reports and its history"`
	Description string `yaml:"description,omitempty"`
	// Schedule is a standard 5-field cron expression that `chaos gameday
	// --schedule` uses when the flag gives none.
	Schedule string `yaml:"schedule,omitempty" jsonschema:"description=cron (minute hour day-of-month month day-of-week) e.g. 0 3 * * MON"`
	// ReportDir holds one dated folder per run, index.jsonl and index.html;
	// relative to the suite file.
	ReportDir string `yaml:"report_dir,omitempty" jsonschema:"description=folder for the dated run folders and the history (relative to the suite file),default=reports"`
	// ContinueOnFailure runs the remaining experiments after one fails.
	ContinueOnFailure bool      `yaml:"continue_on_failure,omitempty"`
	Cooldown          *Cooldown `yaml:"cooldown,omitempty" jsonschema:"description=pause between experiments and then wait for the steady state"`
	// Stack, when set, replaces every experiment's stack (local, compose or kubernetes
	// settings; vars are merged over theirs).
	Stack Stack `yaml:"stack,omitempty" jsonschema:"description=shared stack: replaces each experiment's local or compose or kubernetes stack; vars are merged over theirs"`
	// Variant overrides stack.local.variant of every experiment.
	Variant []string `yaml:"variant,omitempty" jsonschema:"description=gateway behaviours to remove for every experiment"`
	// Seed makes the random picks repeatable: experiment i runs with seed+i.
	Seed int64 `yaml:"seed,omitempty" jsonschema:"description=experiment i runs with seed+i (0: from the clock)"`
	// Experiments in the order they run: a path, {file: path} or {inline: experiment}.
	Experiments []SuiteEntry `yaml:"-"`

	// File is the path the suite was read from.
	File string `yaml:"-" json:"-"`
}

// SuiteEntry is one experiment of a suite: a file (relative to the suite)
// or an experiment written inline.
type SuiteEntry struct {
	File   string      `yaml:"file,omitempty" jsonschema:"description=experiment file relative to the suite"`
	Inline *Experiment `yaml:"-"`
	// Experiment is the decoded experiment, from File or Inline.
	Experiment *Experiment `yaml:"-"`
}

// Cooldown is the pause between two experiments of a suite.
type Cooldown struct {
	For units.Duration `yaml:"for,omitempty" jsonschema:"description=pause after each experiment,default=0s"`
	// SteadyState, on by default, judges the next experiment's steady state
	// (its own load and SLO) after the pause, again and again, before it starts.
	SteadyState *bool          `yaml:"steady_state,omitempty" jsonschema:"description=gate the next experiment on its own steady state,default=true"`
	Within      units.Duration `yaml:"within,omitempty" jsonschema:"description=give up on the steady state after this; the experiment is then not run and counts as failed,default=2m"`
}

// Gate reports whether the cool-down waits for the steady state.
func (c *Cooldown) Gate() bool { return c == nil || c.SteadyState == nil || *c.SteadyState }

// LoadSuite reads a suite file and every experiment file it names, and
// parses them with reg.
func LoadSuite(path string, reg Registry) (*Suite, error) {
	data, err := safefile.Read(path, "suite")
	if err != nil {
		return nil, fileProblem(path, err)
	}
	return ParseSuite(path, data, reg)
}

// IsSuite reports whether data is a suite file (its top level says kind:
// suite), without validating anything.
func IsSuite(data []byte) bool {
	var top struct {
		Kind string `yaml:"kind"`
	}
	return yaml.Unmarshal(data, &top) == nil && top.Kind == SuiteKind
}

// ParseSuite decodes and validates a suite with the same position-aware
// decoder as experiments. Experiment files are read relative to file's
// folder; their problems carry their own file names, an inline
// experiment's are placed under experiments[i].inline.
func ParseSuite(file string, data []byte, reg Registry) (s *Suite, err error) {
	if file == "" {
		file = "<input>"
	}
	d := &decoder{file: file, reg: reg, nodes: map[string]*yaml.Node{}, budget: maxNodes}
	defer func() {
		if r := recover(); r != nil {
			d.problems = append(d.problems, Problem{File: file, Line: 1, Col: 1,
				Msg: fmt.Sprintf("internal error while reading the suite (please report): %v", r)})
			s, err = nil, d.problems.sorted()
		}
	}()
	s = &Suite{File: file}
	root := d.parseYAML(data)
	if root == nil {
		return nil, d.problems.sorted()
	}
	d.nodes[""] = root
	var rest []pair
	var list *pair
	for _, p := range d.pairs(root, "") {
		if p.key == "experiments" {
			list = &p
			continue
		}
		rest = append(rest, p)
	}
	d.decodeFields(root, rest, reflect.ValueOf(s).Elem(), "", []string{"experiments"})
	switch {
	case list == nil:
		d.errorf(root, "experiments", "required field %q is missing", "experiments")
	case !d.stop:
		d.decodeEntries(s, list.val)
	}
	if !d.stop {
		d.validateSuite(s)
	}
	if len(d.problems) > 0 {
		return nil, d.problems.sorted()
	}
	return s, nil
}

// decodeEntries reads the experiments list: a path, {file: path} or
// {inline: experiment} each.
func (d *decoder) decodeEntries(s *Suite, n *yaml.Node) {
	n, ok := d.enter(n, "experiments")
	if !ok {
		return
	}
	d.nodes["experiments"] = n
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		d.errorf(n, "experiments", "expected a list of experiments (a file path, {file: path} or {inline: experiment}), got %s", describeNode(n))
		return
	}
	s.Experiments = make([]SuiteEntry, len(n.Content))
	for i, c := range n.Content {
		p, e := index("experiments", i), &s.Experiments[i]
		c = resolved(c)
		d.nodes[p] = c
		switch {
		case c != nil && c.Kind == yaml.ScalarNode && !isNull(c):
			d.nodes[join(p, "file")] = c
			e.File = c.Value
		case c != nil && c.Kind == yaml.MappingNode:
			var rest []pair
			var inline *yaml.Node
			for _, kv := range d.pairs(c, p) {
				if kv.key == "inline" {
					inline = kv.val
					continue
				}
				rest = append(rest, kv)
			}
			d.decodeFields(c, rest, reflect.ValueOf(e).Elem(), p, []string{"inline"})
			if inline != nil {
				e.Inline = d.inlineExperiment(inline, join(p, "inline"))
			}
			if (e.File == "") == (inline == nil) {
				d.errorf(c, p, "set exactly one of file or inline")
				continue
			}
		default:
			d.errorf(c, p, "expected a file path, {file: path} or {inline: experiment}, got %s", describeNode(c))
			continue
		}
		if e.Inline != nil {
			e.Experiment = e.Inline
		} else if e.File != "" {
			e.Experiment = d.experimentFile(e.File, join(p, "file"))
		}
	}
}

// inlineExperiment decodes and validates an experiment written inside the
// suite, with a decoder of its own so its rules see the usual paths; the
// problems are then moved under path.
func (d *decoder) inlineExperiment(n *yaml.Node, path string) *Experiment {
	n, ok := d.enter(n, path)
	if !ok {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected an experiment (a mapping with version, name, load and faults), got %s", describeNode(n))
		return nil
	}
	sub := &decoder{file: d.file, reg: d.reg, nodes: map[string]*yaml.Node{"": n}, budget: d.budget}
	e := &Experiment{File: d.file}
	sub.decodeFields(n, sub.pairs(n, ""), reflect.ValueOf(e).Elem(), "", nil)
	if !sub.stop {
		sub.setVars(e)
		sub.validateExperiment(e)
	}
	d.budget, d.stop = sub.budget, sub.stop
	for _, p := range sub.problems {
		p.Path = join(path, p.Path)
		d.problems = append(d.problems, p)
	}
	if len(sub.problems) > 0 {
		return nil
	}
	return e
}

// experimentFile loads an experiment file relative to the suite's folder.
// A suite is not an experiment: the suite itself, or another suite, listed
// here is refused at the entry (suites do not nest, so no cycle can form).
func (d *decoder) experimentFile(name, path string) *Experiment {
	file := name
	if !filepath.IsAbs(file) {
		file = filepath.Join(filepath.Dir(d.file), file)
	}
	if sameFile(file, d.file) {
		d.at(path, "%s is this suite itself (valid: an experiment file; a suite cannot include itself)", name)
		return nil
	}
	data, err := safefile.Read(file, "experiment")
	var fe *safefile.Error
	switch {
	case errors.As(err, &fe) && fe.Err == nil:
		d.at(path, "%s %s", file, fe.Msg)
		return nil
	case errors.As(err, &fe):
		d.at(path, "cannot read the experiment %s: %v", file, fe.Err)
		return nil
	case err != nil:
		d.at(path, "cannot read the experiment %s: %v", file, err)
		return nil
	}
	if IsSuite(data) {
		d.at(path, "%s is a suite, not an experiment (valid: an experiment file; suites do not include suites — list that suite's experiments here instead)", name)
		return nil
	}
	exp, err := Parse(file, data, d.reg)
	if ps, ok := err.(Problems); ok {
		d.problems = append(d.problems, ps...)
		return nil
	} else if err != nil {
		d.at(path, "%v", err)
		return nil
	}
	return exp
}

// sameFile reports whether a and b name one file: the same path once
// cleaned, or (through links and mounts) the same inode.
func sameFile(a, b string) bool {
	if aa, err := filepath.Abs(a); err == nil {
		if bb, err := filepath.Abs(b); err == nil && aa == bb {
			return true
		}
	}
	sa, err := os.Stat(a)
	if err != nil {
		return false
	}
	sb, err := os.Stat(b)
	return err == nil && os.SameFile(sa, sb)
}

func (d *decoder) validateSuite(s *Suite) {
	if d.present("version") && !d.failed("version") && s.Version != Version {
		d.at("version", "unsupported version %q (valid: %s)", s.Version, Version)
	}
	if d.present("kind") && !d.failed("kind") && s.Kind != SuiteKind {
		d.at("kind", "%q is not a suite kind (valid: %s; an experiment file has no kind)", s.Kind, SuiteKind)
	}
	if d.present("name") && strings.TrimSpace(s.Name) == "" {
		d.at("name", "must not be empty")
	}
	if d.present("schedule") && !d.failed("schedule") {
		if _, err := ParseSchedule(s.Schedule); err != nil {
			d.at("schedule", "%v", err)
		}
	}
	d.kubeWritten("stack.kubernetes", &s.Stack)
	d.validateStack(s.Stack)
	d.validateVariants("variant", s.Variant)
	if c := s.Cooldown; c != nil {
		if d.present("cooldown.for") && !d.failed("cooldown.for") && c.For < 0 {
			d.at("cooldown.for", "must not be negative")
		}
		if d.present("cooldown.within") && !d.failed("cooldown.within") && c.Within <= 0 {
			d.at("cooldown.within", "must be more than 0s (e.g. 2m)")
		}
	}
}

// ParseSchedule parses a standard 5-field cron expression (minute hour
// day-of-month month day-of-week; also @daily, @weekly, @every 1h and a
// CRON_TZ= prefix).
func ParseSchedule(spec string) (cron.Schedule, error) {
	sch, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q is not a cron schedule: %v (valid: minute hour day-of-month month day-of-week, e.g. \"0 3 * * MON\", or @daily)", spec, err)
	}
	return sch, nil
}

// Declared reports whether data declares itself a chaos file (version:
// chaos/v1 at its top level), so a folder's other YAML files (CI files,
// compose files) can be told apart without validating them. A file that
// cannot be read as YAML is declared when it mentions chaos/v1: validating
// it then says what is wrong.
func Declared(data []byte) bool {
	var top map[string]any
	if err := yaml.Unmarshal(data, &top); err != nil {
		return strings.Contains(string(data), Version)
	}
	v, ok := top["version"].(string)
	return ok && strings.HasPrefix(v, "chaos/")
}
