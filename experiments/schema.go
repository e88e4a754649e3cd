package experiments

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"reflect"
	"slices"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
)

// SchemaID is the $id of the generated schema.
const SchemaID = "https://github.com/chaos-sre/chaos/chaos-v1.schema.json"

// Schema is the JSON Schema (draft 2020-12) of experiment files with every
// registered fault and check kind, for editors (yaml-language-server) and
// `chaos schema`. It is generated from the same Go types and registries the
// decoder reads, so the two cannot drift apart.
func Schema() ([]byte, error) { return SchemaFor(DefaultRegistry()) }

// SchemaFor is Schema for the kinds of reg.
func SchemaFor(reg Registry) ([]byte, error) {
	_, root, err := experimentSchema(reg)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(root, "", "  ")
}

// experimentSchema reflects Experiment with a branch per kind of reg, and
// returns the reflector so that a suite can reflect its own types into the
// same $defs.
func experimentSchema(reg Registry) (*jsonschema.Reflector, *jsonschema.Schema, error) {
	r := &jsonschema.Reflector{
		FieldNameTag: "yaml",
		Mapper:       schemaMapper,
		Namer:        schemaName,
	}
	root := r.Reflect(&Experiment{})
	root.ID = SchemaID
	root.Title = "chaos experiment (" + Version + ")"
	defs := root.Definitions
	// Kind values are filled from New with defaults; their own fields are
	// never required by the decoder (Validate says what is missing).
	for name, def := range defs {
		if !isLocalDef(name) {
			def.Required = nil
		}
	}
	setVariantEnum(defs, reg)
	fault, check := defs["FaultSpec"], defs["CheckSpec"]
	if fault == nil || check == nil {
		return nil, nil, fmt.Errorf("schema: FaultSpec or CheckSpec missing from $defs")
	}
	faultKinds := slices.Sorted(maps.Keys(reg.Faults))
	setKindEnum(fault, faultKinds)
	for _, k := range faultKinds {
		t, err := kindType(reg.Faults[k].New)
		if err != nil {
			return nil, nil, fmt.Errorf("schema: fault kind %q: %w", k, err)
		}
		ref := kindSchema(r, t, defs)
		then := &jsonschema.Schema{Properties: jsonschema.NewProperties()}
		then.Properties.Set("params", &jsonschema.Schema{Ref: ref})
		fault.AllOf = append(fault.AllOf, ifKind(k, then))
	}

	checkKinds := slices.Sorted(maps.Keys(reg.Checks))
	setKindEnum(check, checkKinds)
	// A check's own fields sit next to name, kind, during and after; the
	// branch for its kind adds them, and unevaluatedProperties rejects the
	// rest (additionalProperties cannot see into allOf).
	check.AdditionalProperties = nil
	if check.Extras == nil {
		check.Extras = map[string]any{}
	}
	check.Extras["unevaluatedProperties"] = false
	for _, k := range checkKinds {
		t, err := kindType(reg.Checks[k].New)
		if err != nil {
			return nil, nil, fmt.Errorf("schema: check kind %q: %w", k, err)
		}
		name := kindSchema(r, t, defs)[len("#/$defs/"):]
		def := defs[name]
		if def == nil {
			return nil, nil, fmt.Errorf("schema: check kind %q: no definition for %s", k, t)
		}
		delete(defs, name) // inlined below
		then := &jsonschema.Schema{Properties: def.Properties}
		check.AllOf = append(check.AllOf, ifKind(k, then))
	}
	return r, root, nil
}

func isLocalDef(name string) bool {
	for _, t := range []any{Experiment{}, Stack{}, LocalStack{}, Load{}, Stage{}, Class{}, Marker{}, SteadyState{}, FaultSpec{}, CheckSpec{}, Abort{}, Recovery{}, Suite{}, SuiteEntry{}, Cooldown{}} {
		if schemaName(reflect.TypeOf(t)) == name {
			return true
		}
	}
	return false
}

// kindType returns the struct type behind a kind's New.
func kindType[T any](newFn func() T) (reflect.Type, error) {
	if newFn == nil {
		return nil, fmt.Errorf("no New")
	}
	t := reflect.TypeOf(faults.ParamsOf(newFn()))
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("New returns %v, not a pointer to a struct", t)
	}
	return t, nil
}

// kindSchema reflects a kind's struct into defs and returns its $ref.
func kindSchema(r *jsonschema.Reflector, t reflect.Type, defs jsonschema.Definitions) string {
	s := r.ReflectFromType(t)
	for name, def := range s.Definitions {
		def.Required = nil
		defs[name] = def
	}
	return s.Ref
}

func setKindEnum(s *jsonschema.Schema, kinds []string) {
	if k, ok := s.Properties.Get("kind"); ok {
		k.Enum = make([]any, len(kinds))
		for i, name := range kinds {
			k.Enum[i] = name
		}
	}
}

func ifKind(kind string, then *jsonschema.Schema) *jsonschema.Schema {
	cond := &jsonschema.Schema{Properties: jsonschema.NewProperties(), Required: []string{"kind"}}
	cond.Properties.Set("kind", &jsonschema.Schema{Const: kind})
	return &jsonschema.Schema{If: cond, Then: then}
}

var (
	faultsPkg  = reflect.TypeFor[faults.Fault]().PkgPath()
	targetsPkg = reflect.TypeFor[targets.Spec]().PkgPath()
)

// schemaName names a $defs entry: the type name for experiment types, and
// package.Type for the kinds' types (faults.Latency, verify.SLOCheck).
func schemaName(t reflect.Type) string {
	if t.PkgPath() == experimentsPkg || t.PkgPath() == "" {
		return t.Name()
	}
	if p := t.PkgPath(); strings.HasPrefix(p, faultsPkg+"/") && p != targetsPkg {
		return "faults." + t.Name() // a fault family's kind: faults.NetLatency
	}
	return path.Base(t.PkgPath()) + "." + t.Name()
}

// schemaMapper writes the units types as strings with a pattern, and the
// kind interfaces as objects (the kind's branch says more).
func schemaMapper(t reflect.Type) *jsonschema.Schema {
	switch t {
	case durationType:
		return &jsonschema.Schema{Type: "string", Pattern: `^\s*(0|([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h))+\s*$`,
			Examples: []any{"250ms", "2s", "1m30s"}, Description: "a duration: a number with a unit (ns, us, ms, s, m, h)"}
	case rateType:
		return &jsonschema.Schema{Type: "string", Pattern: `^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*/\s*(ms|s|m|h)\s*$`,
			Examples: []any{"50/s", "3000/m"}, Description: "a rate: a count per unit (ms, s, m, h)"}
	case percentType:
		return &jsonschema.Schema{Type: "string", Pattern: `^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*%\s*$`,
			Examples: []any{"5%", "0.5%", "100%"}, Description: "a percentage from 0% to 100%"}
	case faultType:
		return &jsonschema.Schema{Type: "object"}
	}
	return nil
}
