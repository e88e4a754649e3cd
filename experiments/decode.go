package experiments

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/chaos-sre/chaos/internal/safefile"
	"github.com/chaos-sre/chaos/internal/units"
)

// LoadFile reads an experiment file and parses it with the kinds, --var
// variables and gateway variants of reg (usually DefaultRegistry and what
// the command adds). (It is not named Load: that is the traffic type.)
func LoadFile(path string, reg Registry) (*Experiment, error) {
	data, err := safefile.Read(path, "experiment")
	if err != nil {
		return nil, fileProblem(path, err)
	}
	return Parse(path, data, reg)
}

// fileProblem turns an error reading path into a whole-file problem (one
// line: "path: what is wrong (valid: …)").
func fileProblem(path string, err error) Problems {
	msg := err.Error()
	var fe *safefile.Error
	if errors.As(err, &fe) {
		msg = fe.Msg
	}
	return Problems{{File: path, Msg: msg}}
}

// Parse decodes and validates one experiment. file names the input in
// problems. When the input is bad the error is Problems, with every problem
// found (decoding and validation alike), sorted by position.
func Parse(file string, data []byte, reg Registry) (exp *Experiment, err error) {
	if file == "" {
		file = "<input>"
	}
	d := &decoder{file: file, reg: reg, nodes: map[string]*yaml.Node{}, budget: maxNodes}
	defer func() {
		if r := recover(); r != nil {
			d.problems = append(d.problems, Problem{File: file, Line: 1, Col: 1,
				Msg: fmt.Sprintf("internal error while reading the experiment (please report): %v", r)})
			exp, err = nil, d.problems.sorted()
		}
	}()
	e := &Experiment{File: file}
	if root := d.parseYAML(data); root != nil && suiteKind(root) != nil {
		d.errorf(suiteKind(root), "kind", "this file is a suite, not an experiment (valid: run it with `chaos gameday %s`; an experiment file has no kind)", file)
	} else if root != nil {
		d.nodes[""] = root
		d.decodeFields(root, d.pairs(root, ""), reflect.ValueOf(e).Elem(), "", nil)
		if !d.stop {
			d.setVars(e)
			d.validateExperiment(e)
		}
	}
	if len(d.problems) > 0 {
		return nil, d.problems.sorted()
	}
	return e, nil
}

// suiteKind returns the value node of `kind: suite` at the top of root, nil
// when root is not a suite.
func suiteKind(root *yaml.Node) *yaml.Node {
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k, v := root.Content[i], resolved(root.Content[i+1]); k.Value == "kind" && v != nil && v.Kind == yaml.ScalarNode && v.Value == SuiteKind {
			return v
		}
	}
	return nil
}

// maxNodes bounds the work on one file, so aliases that expand a small
// document into a huge one (a "billion laughs") are refused.
const maxNodes = 100_000

// maxDepth bounds nesting, which also stops aliases that contain themselves.
const maxDepth = 64

// decoder walks yaml.v3 nodes into Go values, collecting problems.
type decoder struct {
	file     string
	reg      Registry
	problems Problems
	// nodes is the value node of every decoded path, to place validation
	// problems found after decoding.
	nodes  map[string]*yaml.Node
	budget int
	depth  int
	inKind int  // > 0 while decoding a kind's value: its New sets defaults
	stop   bool // too big or too deep: report once, decode no more
}

// errorf records a problem at node n (or the start of the file).
func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, max(n.Column, 1)
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// at records a problem at the node of path, or of its nearest decoded parent
// when the field is absent.
func (d *decoder) at(path, format string, args ...any) {
	d.errorf(d.locate(path), path, format, args...)
}

func (d *decoder) locate(path string) *yaml.Node {
	for p := path; ; p = parent(p) {
		if n, ok := d.nodes[p]; ok {
			return n
		}
		if p == "" {
			return nil
		}
	}
}

// failed reports whether a problem was found at or below path.
func (d *decoder) failed(path string) bool {
	for _, p := range d.problems {
		if p.Path == path || path == "" || strings.HasPrefix(p.Path, path+".") || strings.HasPrefix(p.Path, path+"[") {
			return true
		}
	}
	return false
}

// parseYAML parses one YAML document into its root mapping node.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	if len(bytes.TrimSpace(data)) == 0 {
		d.errorf(nil, "", "the file is empty (valid: a mapping with version: %s, name, load and faults)", Version)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "the file has no YAML document, only comments (valid: a mapping with version: %s, name, load and faults)", Version)
			return nil
		}
		d.syntaxError(data, err)
		return nil
	}
	var next yaml.Node
	if err := dec.Decode(&next); err == nil {
		d.errorf(&next, "", "a second YAML document: an experiment file holds one (split it into two files)")
	} else if !errors.Is(err, io.EOF) {
		d.syntaxError(data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.AliasNode && root.Alias != nil {
		root = root.Alias
	}
	if root.Kind != yaml.MappingNode {
		d.errorf(root, "", "expected a mapping (version: %s, name: …) at the top of the file, got %s", Version, describeNode(root))
		return nil
	}
	return root
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: …", no column)
// into a problem; the column is the tab's when the error is about a tab, or
// else the line's first non-blank character.
func (d *decoder) syntaxError(data []byte, err error) {
	msg := err.Error()
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	lines := strings.Split(string(data), "\n")
	line = min(max(line, 1), len(lines))
	text := lines[line-1]
	col := len(text) - len(strings.TrimLeft(text, " \t")) + 1
	// A tab in the indentation is the usual cause; yaml.v3 may name the
	// line before the tab's.
	for l := line; l <= min(line+1, len(lines)); l++ {
		s := lines[l-1]
		indent := s[:len(s)-len(strings.TrimLeft(s, " \t"))]
		if i := strings.IndexByte(indent, '\t'); i >= 0 || (strings.Contains(msg, "tab") && strings.IndexByte(s, '\t') >= 0) {
			if i < 0 {
				i = strings.IndexByte(s, '\t')
			}
			line, text, col = l, s, i+1
			msg += " (indent with spaces, not tabs)"
			break
		}
	}
	if col > len(text) {
		col = 1
	}
	d.problems = append(d.problems, Problem{File: d.file, Line: line, Col: col, Msg: "YAML syntax: " + msg})
}

// validate runs the Validate method of v (a decoded struct) and places each
// problem at its field.
func (d *decoder) validate(v reflect.Value, path string) {
	var val units.Validator
	if v.CanAddr() {
		val, _ = v.Addr().Interface().(units.Validator)
	}
	if val == nil && v.CanInterface() {
		val, _ = v.Interface().(units.Validator)
	}
	if val == nil {
		return
	}
	var ps []units.Problem
	func() {
		defer func() {
			if r := recover(); r != nil {
				d.at(path, "internal error: Validate panicked (please report): %v", r)
			}
		}()
		ps = val.Validate()
	}()
	for _, p := range ps {
		d.at(join(path, p.Field), "%s", p.Msg)
	}
}
