package experiments

import (
	"fmt"
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/chaos-sre/chaos/faults"
)

var experimentsPkg = reflect.TypeFor[Experiment]().PkgPath()

// decodeFields decodes the pairs of mapping n into struct v. extra names
// keys that are valid at this level although v does not have them (the
// common fields of a check, for its kind's inline fields).
func (d *decoder) decodeFields(n *yaml.Node, pairs []pair, v reflect.Value, path string, extra []string) {
	info := fieldsOf(v.Type())
	before := len(d.problems)
	seen := map[string]*yaml.Node{}
	var rest []pair
	for _, p := range pairs {
		f, ok := info.lookup(p.key)
		if !ok {
			if info.rest != nil {
				rest = append(rest, p)
				continue
			}
			d.errorf(p.keyNode, path, "unknown field %q%s", p.key, validList(p.key, append(slices.Clone(extra), info.names()...)))
			continue
		}
		fpath := join(path, f.name)
		if isNull(p.val) {
			d.nodes[fpath] = p.val
			continue
		}
		seen[f.name] = p.val
		if isKindField(f.typ) {
			d.nodes[fpath] = resolved(p.val)
			continue // decoded below, once the kind is known
		}
		d.decodeValue(p.val, v.FieldByIndex(f.index), fpath)
	}
	if d.stop {
		return
	}
	d.decodeKinds(n, v, path, info, seen, rest)
	if d.inKind == 0 && v.Type().PkgPath() == experimentsPkg {
		for _, f := range info.list {
			if f.omitempty || f.typ.Kind() == reflect.Bool || seen[f.name] != nil {
				continue
			}
			d.errorf(n, join(path, f.name), "required field %q is missing", f.name)
		}
	}
	if len(d.problems) == before {
		d.validate(v, path)
	}
}

// isKindField reports whether a field's type is an interface filled by the
// value of a registered kind (faults.Fault, verify.Check).
func isKindField(t reflect.Type) bool {
	return t == faultType || t == checkType
}

// decodeKinds is the second pass over a mapping with a kind: it builds the
// kind's value (defaults set by its New) and decodes into it the kind field's
// mapping (FaultSpec.Params) or the keys no common field took (CheckSpec's
// inline Check).
func (d *decoder) decodeKinds(n *yaml.Node, v reflect.Value, path string, info *structFields, seen map[string]*yaml.Node, rest []pair) {
	type slot struct {
		index []int
		typ   reflect.Type
		name  string // "" for the inline slot
	}
	var slots []slot
	for _, f := range info.list {
		if isKindField(f.typ) {
			slots = append(slots, slot{f.index, f.typ, f.name})
		}
	}
	if info.rest != nil {
		slots = append(slots, slot{info.rest, v.Type().FieldByIndex(info.rest).Type, ""})
	}
	if len(slots) == 0 {
		return
	}
	kf, ok := info.lookup("kind")
	if !ok || kf.typ.Kind() != reflect.String || seen["kind"] == nil {
		return // the missing kind is reported as a required field
	}
	kind, kindNode, kindPath := v.FieldByIndex(kf.index).String(), resolved(seen["kind"]), join(path, "kind")
	if d.failed(kindPath) {
		return
	}
	for _, s := range slots {
		fam := d.reg.family(s.typ)
		if fam == nil {
			d.errorf(n, path, "internal error: no registry for %s", s.typ)
			continue
		}
		val, ok := fam.new(kind)
		if !ok {
			hint := validList(kind, fam.names)
			if len(fam.names) == 0 {
				hint = fmt.Sprintf(" (no %s kinds are registered)", fam.what)
			}
			d.errorf(kindNode, kindPath, "unknown %s kind %q%s", fam.what, kind, hint)
			return
		}
		rv := reflect.ValueOf(val)
		if !rv.IsValid() || !rv.Type().AssignableTo(s.typ) || (rv.Kind() == reflect.Pointer && rv.IsNil()) {
			d.errorf(kindNode, kindPath, "internal error: %s kind %q builds an unusable value %T", fam.what, kind, val)
			return
		}
		target := reflect.ValueOf(faults.ParamsOf(val)) // a proxy kind's own struct
		if target.Kind() == reflect.Pointer {
			target = target.Elem()
		}
		d.inKind++
		if s.name == "" {
			d.decodeInline(n, rest, target, path, info.names(), fam.what, kind)
		} else if node := seen[s.name]; node != nil {
			if target.CanAddr() {
				d.decodeValue(node, target, join(path, s.name))
			} else {
				d.errorf(node, join(path, s.name), "%s kind %q takes no parameters", fam.what, kind)
			}
		} else {
			d.validate(target, join(path, s.name))
		}
		d.inKind--
		v.FieldByIndex(s.index).Set(rv)
	}
}

// decodeInline decodes a check's own keys into the kind's value.
func (d *decoder) decodeInline(n *yaml.Node, rest []pair, target reflect.Value, path string, common []string, what, kind string) {
	if target.Kind() == reflect.Struct && target.CanAddr() {
		d.decodeFields(n, rest, target, path, common)
		return
	}
	for _, p := range rest {
		d.errorf(p.keyNode, path, "unknown field %q (valid for %s kind %s: %s)", p.key, what, kind, validList(p.key, common))
	}
	if len(rest) == 0 {
		d.validate(target, path)
	}
}
