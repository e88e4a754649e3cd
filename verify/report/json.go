package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/chaos-sre/chaos/internal/safefile"
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

// ReadJSON reads what WriteJSON wrote: one report or a non-empty array of
// them. It reads the current schema and v1 (a subset of it) and refuses other versions, null entries, exit codes that do
// not exist and input over MaxFileSize, so that what it returns can be
// rendered and its exit codes trusted.
func ReadJSON(r io.Reader) ([]*Report, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("not a chaos report: more than %d MiB", MaxFileSize>>20)
	}
	if n := objects(b); n > len(b)/minObjectBytes+1000 {
		return nil, fmt.Errorf("not a chaos report: %d JSON objects in %d bytes would take gigabytes to render (valid: a result chaos wrote, with at most one object per %d bytes)", n, len(b), minObjectBytes)
	}
	var reps []*Report
	t := bytes.TrimSpace(b)
	list := len(t) > 0 && t[0] == '['
	if list {
		err = json.Unmarshal(t, &reps)
	} else {
		var one *Report
		err = json.Unmarshal(t, &one)
		reps = []*Report{one}
	}
	if err != nil {
		return nil, fmt.Errorf("not a chaos report: %w", err)
	}
	if len(reps) == 0 {
		return nil, errors.New("not a chaos report: an empty list, no runs (valid: one report or a list of them)")
	}
	for i, r := range reps {
		which := ""
		if list {
			which = fmt.Sprintf("run %d of %d: ", i+1, len(reps))
		}
		switch {
		case r == nil:
			return nil, fmt.Errorf("not a chaos report: %snull (valid: a report object with schema %q)", which, Schema)
		case r.Schema != Schema && r.Schema != SchemaV1:
			return nil, fmt.Errorf("%sreport schema %q is not %q (or the older %q)", which, r.Schema, Schema, SchemaV1)
		case r.ExitCode < 0 || r.ExitCode > 5:
			return nil, fmt.Errorf("%sexit_code %d does not exist (valid: 0 to 5)", which, r.ExitCode)
		}
	}
	return reps, nil
}

// MaxFileSize is the largest result.json chaos reads. A result holds every
// second of its run (about 2 KB a second with two classes), so it is larger
// than safefile.MaxSize, the limit on experiments: 64 MiB is about nine hours
// of runs in one file, and a mistaken path past it is still refused from its
// size alone.
const MaxFileSize = 64 << 20

// minObjectBytes is the fewest bytes per JSON object a result may have on
// average. A result chaos writes has one per 100 to 140 bytes; `{}` repeated
// has one per 3, and each becomes a struct of up to 600 bytes, then 1.5 KB of
// output — 8 MiB of them took 30 s and 6.7 GB to render.
const minObjectBytes = 40

// objects counts the JSON objects in b: the { outside strings.
func objects(b []byte) int {
	n, str, esc := 0, false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case str && c == '\\':
			esc = true
		case c == '"':
			str = !str
		case !str && c == '{':
			n++
		}
	}
	return n
}

// ReadFile reads a result.json: a regular file of at most MaxFileSize.
func ReadFile(path string) ([]*Report, error) {
	b, err := safefile.ReadLimit(path, "result", MaxFileSize)
	if err != nil {
		return nil, err
	}
	reps, err := ReadJSON(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return reps, nil
}

// JSONSchema is the JSON Schema (draft 2020-12) of what WriteJSON writes:
// one report, or a non-empty array of them (chaos demo, a game-day's
// combined result.json). It is generated from the Report types so the two
// cannot drift apart.
func JSONSchema() ([]byte, error) {
	r := &jsonschema.Reflector{Namer: func(t reflect.Type) string {
		if t == reflect.TypeOf(checkJSON{}) {
			return "CheckReport"
		}
		return t.Name()
	}}
	s := r.Reflect(&Report{})
	one := uint64(1)
	s.OneOf = []*jsonschema.Schema{
		{Ref: s.Ref, Description: "one run"},
		{Type: "array", Items: &jsonschema.Schema{Ref: s.Ref}, MinItems: &one, Description: "several runs, in the order they ran"},
	}
	s.Ref = ""
	s.ID = SchemaID
	s.Title = "chaos run report (" + Schema + ")"
	s.Description = "The evidence of one chaos run, or an array of them: what was injected where, the per-second load timeline, sampled metrics and every check's verdict. Durations carry their unit in the field name (_s, _ms)."
	return json.MarshalIndent(s, "", "  ")
}
