package experiments

import (
	"encoding"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/chaos-sre/chaos/internal/units"
)

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[units.Duration]()
	rateType            = reflect.TypeFor[units.Rate]()
	percentType         = reflect.TypeFor[units.Percent]()
)

// enter follows an alias and charges the node to the work budget; it
// returns false when decoding must stop.
func (d *decoder) enter(n *yaml.Node, path string) (*yaml.Node, bool) {
	if d.stop || n == nil {
		return nil, false
	}
	d.budget--
	if d.budget < 0 {
		d.stop = true
		d.errorf(n, path, "the document is too large (more than %d values once aliases are expanded)", maxNodes)
		return nil, false
	}
	for i := 0; n.Kind == yaml.AliasNode; i++ {
		if n.Alias == nil || i > maxDepth {
			d.errorf(n, path, "alias *%s refers to nothing", n.Value)
			return nil, false
		}
		n = n.Alias
	}
	return n, true
}

// deeper counts one level of nesting; the caller defers d.depth--.
func (d *decoder) deeper(n *yaml.Node, path string) bool {
	d.depth++
	if d.depth > maxDepth && !d.stop {
		d.stop = true
		d.errorf(n, path, "nested more than %d levels deep (or an alias contains itself)", maxDepth)
	}
	return !d.stop
}

func resolved(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i <= maxDepth; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	n = resolved(n)
	return n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// decodeValue decodes node n into v (addressable) at path. A null node
// leaves v as it is (defaults stay).
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	n, ok := d.enter(n, path)
	if !ok {
		return
	}
	defer func() { d.depth-- }()
	if !d.deeper(n, path) {
		return
	}
	d.nodes[path] = n
	if isNull(n) {
		return
	}
	t := v.Type()
	if k := t.Kind(); k != reflect.Pointer && k != reflect.Interface && reflect.PointerTo(t).Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.errorf(n, path, "%v", err)
		}
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decodeValue(n, v.Elem(), path)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			d.errorf(n, path, "internal error: no kind decides the type of this field")
			return
		}
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(n, path, "cannot read the value: %v", strings.TrimPrefix(err.Error(), "yaml: "))
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(stringKeys(x, 0)))
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n))
			return
		}
		d.decodeFields(n, d.pairs(n, path), v, path, nil)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n))
		return
	}
	s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, c := range n.Content {
		ip := index(path, i)
		if isNull(c) {
			d.nodes[ip] = c
			d.errorf(c, ip, "empty list entry (valid: %s)", describeType(t.Elem()))
			continue
		}
		d.decodeValue(c, s.Index(i), ip)
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.errorf(n, path, "internal error: map keys of type %s", t.Key())
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n))
		return
	}
	m := reflect.MakeMapWithSize(t, len(n.Content)/2)
	for _, p := range d.pairs(n, path) {
		ev := reflect.New(t.Elem()).Elem()
		d.decodeValue(p.val, ev, join(path, p.key))
		m.SetMapIndex(reflect.ValueOf(p.key).Convert(t.Key()), ev)
	}
	v.Set(m)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n))
		return
	}
	s := strings.TrimSpace(n.Value)
	bad := func() { d.errorf(n, path, "expected %s, got %s", describeType(t), describeNode(n)) }
	switch t.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			bad()
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			bad()
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		u, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil || v.OverflowUint(u) {
			bad()
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || v.OverflowFloat(f) {
			bad()
			return
		}
		v.SetFloat(f)
	default:
		d.errorf(n, path, "internal error: cannot decode into %s", t)
	}
}

// stringKeys turns the map[any]any yaml.v3 makes for non-string keys into
// map[string]any, so a body can be sent as JSON.
func stringKeys(x any, depth int) any {
	if depth > maxDepth {
		return x
	}
	switch x := x.(type) {
	case map[string]any:
		for k, v := range x {
			x[k] = stringKeys(v, depth+1)
		}
		return x
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[fmt.Sprint(k)] = stringKeys(v, depth+1)
		}
		return m
	case []any:
		for i, v := range x {
			x[i] = stringKeys(v, depth+1)
		}
		return x
	}
	return x
}
