package experiments

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/invopop/jsonschema"
)

// SuiteSchemaID is the $id of the generated suite schema.
const SuiteSchemaID = "https://github.com/chaos-sre/chaos/chaos-suite-v1.schema.json"

// SuiteSchema is the JSON Schema (draft 2020-12) of suite files (kind:
// suite, run by `chaos gameday`), for editors and `chaos schema --suite`.
// It is reflected from Suite, SuiteEntry and Cooldown, the types ParseSuite
// decodes into, and carries the whole experiment schema in its $defs for
// experiments written inline.
func SuiteSchema() ([]byte, error) { return SuiteSchemaFor(DefaultRegistry()) }

// SuiteSchemaFor is SuiteSchema for the kinds of reg.
func SuiteSchemaFor(reg Registry) ([]byte, error) {
	r, root, err := experimentSchema(reg)
	if err != nil {
		return nil, err
	}
	defs := root.Definitions
	merge := func(s *jsonschema.Schema) {
		for name, def := range s.Definitions {
			if _, ok := defs[name]; ok {
				continue // already there, with the kinds' branches
			}
			if !isLocalDef(name) {
				def.Required = nil
			}
			defs[name] = def
		}
	}
	merge(r.Reflect(&Suite{}))
	merge(r.Reflect(&SuiteEntry{}))
	setVariantEnum(defs, reg)
	suite, entry := defs[schemaName(reflect.TypeFor[Suite]())], defs[schemaName(reflect.TypeFor[SuiteEntry]())]
	if suite == nil || entry == nil {
		return nil, fmt.Errorf("schema: Suite or SuiteEntry missing from $defs")
	}

	// ParseSuite reads experiments itself (the field is yaml:"-"): each entry
	// is a path, {file: path} or {inline: experiment}, exactly one of the two.
	entry.Required = []string{"file"}
	inline := &jsonschema.Schema{Type: "object", Properties: jsonschema.NewProperties(), Required: []string{"inline"},
		AdditionalProperties: jsonschema.FalseSchema, Description: "an experiment written inside the suite"}
	inline.Properties.Set("inline", &jsonschema.Schema{Ref: "#/$defs/Experiment"})
	one := uint64(1)
	list := &jsonschema.Schema{
		Type:        "array",
		MinItems:    &one,
		Description: "the experiments in the order they run: a file path (relative to the suite), {file: path} or {inline: experiment}",
		Items: &jsonschema.Schema{OneOf: []*jsonschema.Schema{
			{Type: "string", MinLength: &one, Description: "an experiment file relative to the suite"},
			{Ref: "#/$defs/SuiteEntry"},
			inline,
		}},
	}
	suite.Properties.Set("experiments", list)
	suite.Required = append(suite.Required, "experiments")

	root.ID = SuiteSchemaID
	root.Ref = "#/$defs/Suite"
	root.Title = "chaos suite (" + Version + ", kind: " + SuiteKind + ")"
	return json.MarshalIndent(root, "", "  ")
}
