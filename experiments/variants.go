package experiments

import (
	"reflect"
	"slices"

	"github.com/invopop/jsonschema"
)

// validateVariants checks the gateway variants at path against
// Registry.Variants, the ones the plugged-in local stack knows. With none
// known they are left to the stack, which refuses an unknown one at start.
func (d *decoder) validateVariants(path string, variants []string) {
	valid := d.reg.Variants
	if len(valid) == 0 {
		return
	}
	for i, v := range variants {
		if !slices.Contains(valid, v) {
			d.at(index(path, i), "unknown variant %q%s", v, validList(v, valid))
		}
	}
}

// setVariantEnum lists reg.Variants as the values of the variant fields of
// LocalStack and Suite (those of defs), so editors offer the names the
// validator accepts.
func setVariantEnum(defs jsonschema.Definitions, reg Registry) {
	if len(reg.Variants) == 0 {
		return
	}
	for _, t := range []reflect.Type{reflect.TypeFor[LocalStack](), reflect.TypeFor[Suite]()} {
		s := defs[schemaName(t)]
		if s == nil {
			continue
		}
		if v, ok := s.Properties.Get("variant"); ok && v.Items != nil {
			v.Items.Enum = make([]any, len(reg.Variants))
			for i, name := range reg.Variants {
				v.Items.Enum[i] = name
			}
		}
	}
}
