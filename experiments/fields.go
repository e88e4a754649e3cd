package experiments

import (
	"reflect"
	"strings"
	"sync"
)

// field is one YAML key of a struct, after ,inline structs are merged in.
type field struct {
	name      string
	index     []int
	omitempty bool
	typ       reflect.Type
}

// structFields is the YAML view of a struct type.
type structFields struct {
	list   []field
	byName map[string]int
	// rest is the index of an inline interface field (CheckSpec.Check): the
	// keys no other field takes are decoded into the value of its kind.
	rest []int
}

// names lists the keys in declaration order.
func (s *structFields) names() []string {
	out := make([]string, len(s.list))
	for i, f := range s.list {
		out[i] = f.name
	}
	return out
}

func (s *structFields) lookup(name string) (field, bool) {
	i, ok := s.byName[name]
	if !ok {
		return field{}, false
	}
	return s.list[i], true
}

var fieldCache sync.Map // reflect.Type → *structFields

// fieldsOf reads the yaml tags of a struct type the way yaml.v3 does:
// `yaml:"name,omitempty"`, `,inline` merges a struct's keys (or marks an
// interface as taking the remaining keys), `-` skips, an untagged field is
// its lowercased name, and unexported fields are skipped (embedded untagged
// structs are merged, as encoding/json does).
func fieldsOf(t reflect.Type) *structFields {
	if s, ok := fieldCache.Load(t); ok {
		return s.(*structFields)
	}
	s := &structFields{byName: map[string]int{}}
	collectFields(t, nil, s, 0)
	fieldCache.Store(t, s)
	return s
}

func collectFields(t reflect.Type, prefix []int, s *structFields, depth int) {
	if depth > 8 {
		return
	}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		idx := append(append([]int(nil), prefix...), i)
		inline := hasOpt(opts, "inline") || (sf.Anonymous && tag == "" && sf.Type.Kind() == reflect.Struct)
		if inline {
			switch sf.Type.Kind() {
			case reflect.Struct:
				collectFields(sf.Type, idx, s, depth+1)
			case reflect.Interface:
				if sf.IsExported() {
					s.rest = idx
				}
			}
			continue
		}
		if !sf.IsExported() {
			continue
		}
		switch sf.Type.Kind() {
		case reflect.Func, reflect.Chan, reflect.UnsafePointer:
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		if _, dup := s.byName[name]; dup {
			continue // the outer field wins, as in yaml.v3
		}
		s.byName[name] = len(s.list)
		s.list = append(s.list, field{name: name, index: idx, omitempty: hasOpt(opts, "omitempty"), typ: sf.Type})
	}
}

func hasOpt(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
