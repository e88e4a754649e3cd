package experiments

import (
	"maps"
	"reflect"
	"slices"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/verify"
)

// Registry is the fault and check kinds a decoder knows. Production code uses
// DefaultRegistry; tests pass small fake kinds.
type Registry struct {
	Faults map[string]faults.Kind
	Checks map[string]verify.Kind
	// Vars are variables given on the command line (--var name=value):
	// they join, and override, the stack.vars of every experiment parsed.
	Vars map[string]string
	// Variants are the gateway variants stack.local.variant (and a suite's
	// variant) may name: those of the local stack the program plugs in
	// (run.Stacks). None: they are not checked here, and the schema lists
	// none; the stack refuses an unknown one when it starts.
	Variants []string
}

// DefaultRegistry is every fault kind in kinds.All and every check kind
// in verify.Kinds.
func DefaultRegistry() Registry {
	return Registry{Faults: kinds.All, Checks: verify.Kinds}
}

var (
	faultType = reflect.TypeFor[faults.Fault]()
	checkType = reflect.TypeFor[verify.Check]()
)

// family is the kinds that fill one interface type.
type family struct {
	what  string // "fault", "check"
	names []string
	new   func(kind string) (any, bool)
}

// family returns the kinds for an interface field of type t, or nil.
func (r Registry) family(t reflect.Type) *family {
	switch t {
	case faultType:
		return &family{what: "fault", names: slices.Sorted(maps.Keys(r.Faults)), new: func(k string) (any, bool) {
			kind, ok := r.Faults[k]
			if !ok || kind.New == nil {
				return nil, false
			}
			return kind.New(), true
		}}
	case checkType:
		return &family{what: "check", names: slices.Sorted(maps.Keys(r.Checks)), new: func(k string) (any, bool) {
			kind, ok := r.Checks[k]
			if !ok || kind.New == nil {
				return nil, false
			}
			return kind.New(), true
		}}
	}
	return nil
}
