package experiments

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden.json and testdata/suite-schema.golden.json")

// TestSchemaGolden compares the schema of the registered kinds with the
// golden file; run `go test ./experiments -run TestSchemaGolden -update`
// after changing a type or registering a kind.
func TestSchemaGolden(t *testing.T) {
	got, err := Schema()
	require.NoError(t, err)
	checkGolden(t, "schema.golden.json", got)
}

// checkGolden compares got with testdata/name, rewriting it with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.WriteFile(golden, append(got, '\n'), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(got), "%s changed: rerun with -update", name)
}

// TestSuiteSchemaGolden is TestSchemaGolden for the suite schema.
func TestSuiteSchemaGolden(t *testing.T) {
	got, err := SuiteSchema()
	require.NoError(t, err)
	checkGolden(t, "suite-schema.golden.json", got)
}

// TestSuiteSchemaShape: the suite's own fields come from Suite, the
// experiments list takes the three forms ParseSuite reads, and an inline
// experiment is the experiment schema.
func TestSuiteSchemaShape(t *testing.T) {
	b, err := SuiteSchemaFor(fakeRegistry())
	require.NoError(t, err)
	var s struct {
		Ref  string `json:"$ref"`
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
			Required   []string                   `json:"required"`
		} `json:"$defs"`
	}
	require.NoError(t, json.Unmarshal(b, &s))
	assert.Equal(t, "#/$defs/Suite", s.Ref)
	suite := s.Defs["Suite"]
	assert.Equal(t, []string{"version", "kind", "name", "experiments"}, suite.Required, "the decoder's required fields")
	for _, k := range []string{"schedule", "report_dir", "continue_on_failure", "cooldown", "stack", "variant", "seed"} {
		assert.Contains(t, suite.Properties, k)
	}
	list := string(suite.Properties["experiments"])
	assert.Contains(t, list, `"#/$defs/SuiteEntry"`)
	assert.Contains(t, list, `"#/$defs/Experiment"`)
	assert.Contains(t, s.Defs, "FaultSpec", "inline experiments carry the kinds")
	assert.Equal(t, []string{"file"}, s.Defs["SuiteEntry"].Required)
}

type jsonSchema struct {
	Ref                   string                 `json:"$ref"`
	Defs                  map[string]*jsonSchema `json:"$defs"`
	Properties            map[string]*jsonSchema `json:"properties"`
	Required              []string               `json:"required"`
	AdditionalProperties  json.RawMessage        `json:"additionalProperties"`
	UnevaluatedProperties json.RawMessage        `json:"unevaluatedProperties"`
	Enum                  []string               `json:"enum"`
	Const                 string                 `json:"const"`
	AllOf                 []struct {
		If, Then *jsonSchema
	} `json:"allOf"`
}

func TestSchemaShape(t *testing.T) {
	b, err := SchemaFor(fakeRegistry())
	require.NoError(t, err)
	var s jsonSchema
	require.NoError(t, json.Unmarshal(b, &s))
	assert.Equal(t, "#/$defs/Experiment", s.Ref)
	exp := s.Defs["Experiment"]
	assert.Equal(t, []string{"version", "name", "load"}, exp.Required, "the decoder's required fields")
	assert.Equal(t, "false", string(exp.AdditionalProperties))

	fault := s.Defs["FaultSpec"]
	assert.Equal(t, []string{"latency", "signal"}, fault.Properties["kind"].Enum)
	require.Len(t, fault.AllOf, 2)
	assert.Equal(t, "latency", fault.AllOf[0].If.Properties["kind"].Const)
	assert.Equal(t, "#/$defs/fakeLatency", fault.AllOf[0].Then.Properties["params"].Ref)
	lat := s.Defs["fakeLatency"]
	assert.Empty(t, lat.Required, "kind fields have defaults")
	assert.Equal(t, "false", string(lat.AdditionalProperties))

	check := s.Defs["CheckSpec"]
	assert.Nil(t, check.AdditionalProperties)
	assert.Equal(t, "false", string(check.UnevaluatedProperties))
	assert.Equal(t, []string{"degraded", "panicky", "probe", "slo"}, check.Properties["kind"].Enum)
	var slo *jsonSchema
	for _, b := range check.AllOf {
		if b.If.Properties["kind"].Const == "slo" {
			slo = b.Then
		}
	}
	require.NotNil(t, slo)
	assert.Contains(t, slo.Properties, "class")
	assert.Contains(t, slo.Properties, "error_rate", "inline SLO fields are the check's own")
}

// TestSchemaKnowsValidFiles checks that every key written in the valid
// example files is a property the schema allows at that place, so that the
// schema and the decoder agree on names.
func TestSchemaKnowsValidFiles(t *testing.T) {
	b, err := Schema()
	require.NoError(t, err)
	var s jsonSchema
	require.NoError(t, json.Unmarshal(b, &s))
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(t, err)
		var doc map[string]any
		require.NoError(t, yaml.Unmarshal(data, &doc))
		for k := range doc {
			assert.Contains(t, s.Defs["Experiment"].Properties, k, "%s", file)
		}
		for _, f := range doc["faults"].([]any) {
			f := f.(map[string]any)
			params, _ := f["params"].(map[string]any)
			var def *jsonSchema
			for _, b := range s.Defs["FaultSpec"].AllOf {
				if b.If.Properties["kind"].Const == f["kind"] {
					def = s.Defs[b.Then.Properties["params"].Ref[len("#/$defs/"):]]
				}
			}
			require.NotNil(t, def, "%s: kind %v", file, f["kind"])
			for k := range params {
				assert.Contains(t, def.Properties, k, "%s: %v params", file, f["kind"])
			}
		}
		checks, _ := doc["checks"].([]any)
		for _, c := range checks {
			c := c.(map[string]any)
			var then *jsonSchema
			for _, b := range s.Defs["CheckSpec"].AllOf {
				if b.If.Properties["kind"].Const == c["kind"] {
					then = b.Then
				}
			}
			require.NotNil(t, then, "%s: kind %v", file, c["kind"])
			for k := range c {
				_, common := s.Defs["CheckSpec"].Properties[k]
				_, own := then.Properties[k]
				assert.True(t, common || own, "%s: check %v: key %s", file, c["name"], k)
			}
		}
	}
}
