package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"

	"github.com/invopop/jsonschema"
)

// WriteJSON writes one report as an object, several as an array, indented.
func WriteJSON(w io.Writer, reps ...*Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if len(reps) == 1 {
		return enc.Encode(reps[0])
	}
	return enc.Encode(reps)
}

// ReadJSON reads what WriteJSON wrote: one report or an array of them. It
// refuses other schema versions.
func ReadJSON(r io.Reader) ([]*Report, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var reps []*Report
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, &reps)
	} else {
		var one Report
		err = json.Unmarshal(t, &one)
		reps = []*Report{&one}
	}
	if err != nil {
		return nil, fmt.Errorf("not a chaos report: %w", err)
	}
	for _, r := range reps {
		if r.Schema != Schema {
			return nil, fmt.Errorf("report schema %q is not %q", r.Schema, Schema)
		}
	}
	return reps, nil
}

// ReadFile reads a result.json.
func ReadFile(path string) ([]*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reps, err := ReadJSON(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reps, nil
}

// JSONSchema is the JSON Schema (draft 2020-12) of one report, generated
// from the Report types so the two cannot drift apart.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{Namer: func(t reflect.Type) string {
		if t == reflect.TypeOf(checkJSON{}) {
			return "CheckReport"
		}
		return t.Name()
	}}
	s := r.Reflect(&Report{})
	s.ID = SchemaID
	s.Title = "chaos run report (" + Schema + ")"
	s.Description = "The evidence of one chaos run: what was injected where, the per-second load timeline, sampled metrics and every check's verdict. Durations carry their unit in the field name (_s, _ms)."
	return json.MarshalIndent(s, "", "  ")
}
