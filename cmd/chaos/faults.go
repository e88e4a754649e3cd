package main

import (
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/kinds"
)

func newFaultsCmd(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "faults",
		Short: "List every fault kind with its parameters and defaults",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			names := make([]string, 0, len(kinds.All))
			for n := range kinds.All {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				k := kinds.All[n]
				fmt.Fprintf(stdout, "%s — %s\n  targets: %s\n", n, k.Summary, strings.Join(k.Targets, ", "))
				for _, p := range paramsOf(faults.ParamsOf(k.New())) {
					fmt.Fprintf(stdout, "  %-12s %-14s default %-8s %s\n", p.name, p.typ, p.def, p.doc)
				}
				fmt.Fprintln(stdout)
			}
			return nil
		},
	}
}

type param struct{ name, typ, def, doc string }

// qualifier is the package of a type name (units., netns.), left out.
var qualifier = regexp.MustCompile(`\b[a-z]\w*\.`)

// paramsOf reads a kind's parameters from the yaml and jsonschema tags of
// the value its constructor returns, so the list cannot drift from the code.
func paramsOf(v any) []param {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	var out []param
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		def := "-" // a zero value, or a nil pointer: no default
		if fv := rv.Field(i); !fv.IsZero() {
			def = fmt.Sprint(fv.Interface())
			if s, ok := fv.Interface().(fmt.Stringer); ok {
				def = s.String()
			}
		}
		var doc []string
		for _, part := range strings.Split(f.Tag.Get("jsonschema"), ",") {
			if d, ok := strings.CutPrefix(part, "description="); ok {
				doc = append(doc, d)
			}
			if e, ok := strings.CutPrefix(part, "enum="); ok {
				doc = append(doc, "|"+e)
			}
		}
		typ := strings.ReplaceAll(qualifier.ReplaceAllString(strings.TrimPrefix(f.Type.String(), "*"), ""), "interface {}", "any")
		out = append(out, param{name: tag, typ: typ, def: def, doc: strings.TrimPrefix(strings.Join(doc, " "), "|")})
	}
	return out
}
