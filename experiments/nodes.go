package experiments

import (
	"reflect"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// pair is one key of a mapping, merge keys (<<) already applied.
type pair struct {
	key          string
	keyNode, val *yaml.Node
}

// pairs lists the keys of mapping n, reporting duplicates and keys that are
// not plain scalars. Keys from merges (<<: *anchor) come after the mapping's
// own and never override them.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	at := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolved(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errorf(n.Content[i], path, "expected a plain name as key, got %s", describeNode(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, val)
			continue
		}
		if j, dup := at[k.Value]; dup {
			d.errorf(k, join(path, k.Value), "duplicate key %q (first at line %d)", k.Value, out[j].keyNode.Line)
			continue
		}
		at[k.Value] = len(out)
		out = append(out, pair{key: k.Value, keyNode: k, val: val})
	}
	for _, m := range merges {
		d.merge(m, path, &out, at)
	}
	return out
}

func (d *decoder) merge(m *yaml.Node, path string, out *[]pair, at map[string]int) {
	m, ok := d.enter(m, path)
	if !ok {
		return
	}
	defer func() { d.depth-- }()
	if !d.deeper(m, path) {
		return
	}
	add := func(n *yaml.Node) {
		for _, p := range d.pairs(n, path) {
			if _, ok := at[p.key]; !ok {
				at[p.key] = len(*out)
				*out = append(*out, p)
			}
		}
	}
	switch m.Kind {
	case yaml.MappingNode:
		add(m)
	case yaml.SequenceNode:
		for _, c := range m.Content {
			if c = resolved(c); c != nil && c.Kind == yaml.MappingNode {
				add(c)
			} else {
				d.errorf(m, path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describeNode(c))
			}
		}
	default:
		d.errorf(m, path, "a merge key (<<) takes a mapping or a list of mappings, got %s", describeNode(m))
	}
}

// describeType says in words what a value of type t is written as.
func describeType(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration like 250ms"
	case rateType:
		return "a rate like 50/s"
	case percentType:
		return "a percentage like 5%"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return describeType(t.Elem())
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return "a value"
}

// describeNode says in words what a node is, for "expected X, got Y".
func describeNode(n *yaml.Node) string {
	n = resolved(n)
	switch {
	case n == nil || n.Kind == 0:
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.DocumentNode:
		return "a document"
	case isNull(n):
		return "nothing"
	}
	s := n.Value
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return strconv.Quote(s)
}
