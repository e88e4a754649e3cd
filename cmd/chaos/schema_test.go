package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/report"
)

// The tests below hold what `chaos schema` prints up against the files users
// actually write and get, with a real JSON Schema validator: every example
// experiment and suite, and result.json (one run and several).

// printedSchema compiles the schema `chaos schema args...` prints (the
// compiler also checks it against the draft 2020-12 meta-schema).
func printedSchema(t *testing.T, args ...string) *jsonschema.Schema {
	t.Helper()
	code, out, stderr := chaos(t, append([]string{"schema"}, args...)...)
	require.Equal(t, 0, code, stderr)
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	require.NoError(t, err, "chaos schema %v prints JSON", args)
	c := jsonschema.NewCompiler()
	url := "mem://chaos/" + strings.Join(append([]string{"schema"}, args...), "") + ".json"
	require.NoError(t, c.AddResource(url, doc))
	s, err := c.Compile(url)
	require.NoError(t, err, "chaos schema %v is a valid JSON Schema", args)
	return s
}

// yamlValue reads a YAML file as the JSON value an editor's YAML language
// server validates: mappings with string keys, numbers as JSON numbers.
func yamlValue(data []byte) (any, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	b, err := json.Marshal(jsonCompatible(v))
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func jsonCompatible(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonCompatible(x)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[fmt.Sprint(k)] = jsonCompatible(x)
		}
		return out
	case []any:
		for i, x := range v {
			v[i] = jsonCompatible(x)
		}
		return v
	}
	return v
}

// exampleFiles finds the chaos files under root/examples: every YAML file
// that declares version: chaos/v1, split into experiments and suites (the
// compose and CI files there are not chaos files).
func exampleFiles(t *testing.T, root string) (exps, suites []string) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join(root, "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case !experiments.Declared(data):
		case experiments.IsSuite(data):
			suites = append(suites, path)
		default:
			exps = append(exps, path)
		}
		return nil
	})
	require.NoError(t, err)
	return exps, suites
}

// validateExamples validates every chaos file under root/examples against
// the printed schemas and returns one error per file that does not pass.
func validateExamples(t *testing.T, root string, exp, suite *jsonschema.Schema) (checked int, errs []error) {
	t.Helper()
	exps, suites := exampleFiles(t, root)
	require.GreaterOrEqual(t, len(exps), 15, "example experiments under %s", root)
	require.GreaterOrEqual(t, len(suites), 2, "example suites under %s", root)
	for _, set := range []struct {
		files  []string
		schema *jsonschema.Schema
	}{{exps, exp}, {suites, suite}} {
		for _, file := range set.files {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			v, err := yamlValue(data)
			if err == nil {
				err = set.schema.Validate(v)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", file, err))
			}
			checked++
		}
	}
	return checked, errs
}

// TestSchemaAcceptsExamples validates every example experiment against
// `chaos schema` and every example suite against `chaos schema --suite`;
// then a copy of the examples, each kind with one field the schema does not
// have, must fail exactly there, so the first half cannot pass by accident.
func TestSchemaAcceptsExamples(t *testing.T) {
	exp, suite := printedSchema(t), printedSchema(t, "--suite")
	repo := filepath.Join("..", "..")

	t.Run("examples", func(t *testing.T) {
		n, errs := validateExamples(t, repo, exp, suite)
		for _, err := range errs {
			t.Errorf("%v", err)
		}
		t.Logf("%d files valid", n)
	})

	t.Run("broken copy", func(t *testing.T) {
		dir := t.TempDir()
		exps, suites := exampleFiles(t, repo)
		broken := map[string]string{}
		copyTo := func(file string, breakIt func(map[string]any) string) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			if breakIt != nil {
				var doc map[string]any
				require.NoError(t, yaml.Unmarshal(data, &doc))
				field := breakIt(doc)
				data, err = yaml.Marshal(doc)
				require.NoError(t, err)
				broken[filepath.Base(file)] = field
			}
			rel, err := filepath.Rel(repo, file)
			require.NoError(t, err)
			dst := filepath.Join(dir, rel)
			require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
			require.NoError(t, os.WriteFile(dst, data, 0o644))
		}
		// One experiment each with a top-level field, a fault parameter no
		// kind has and a check field its kind lacks; the rest copied as they are.
		breaks := []struct {
			applies func(map[string]any) bool
			apply   func(map[string]any) string
		}{
			{func(map[string]any) bool { return true },
				func(doc map[string]any) string { doc["retries"] = 3; return "retries" }},
			{func(doc map[string]any) bool { return len(asList(doc["faults"])) > 0 },
				func(doc map[string]any) string {
					fault := asList(doc["faults"])[0].(map[string]any)
					params, _ := fault["params"].(map[string]any)
					if params == nil {
						params = map[string]any{}
						fault["params"] = params
					}
					params["delay_ms"] = 2000
					return "delay_ms"
				}},
			{func(doc map[string]any) bool { return len(asList(doc["checks"])) > 0 },
				func(doc map[string]any) string {
					asList(doc["checks"])[0].(map[string]any)["threshold"] = "5%"
					return "threshold"
				}},
		}
		for _, f := range exps {
			var doc map[string]any
			require.NoError(t, yaml.Unmarshal(mustRead(t, f), &doc))
			if len(breaks) > 0 && breaks[0].applies(doc) {
				copyTo(f, breaks[0].apply)
				breaks = breaks[1:]
				continue
			}
			copyTo(f, nil)
		}
		require.Empty(t, breaks, "an example for every kind of break")
		for i, f := range suites {
			if i == 0 {
				copyTo(f, func(doc map[string]any) string {
					doc["cooldown"] = map[string]any{"for": "1s", "jitter": "1s"}
					return "jitter"
				})
				continue
			}
			copyTo(f, nil)
		}
		// A suite names its experiments by relative paths; the copy keeps them.
		_, errs := validateExamples(t, dir, exp, suite)
		require.Len(t, errs, len(broken), "every broken file fails, and only those: %v", errs)
		for _, err := range errs {
			msg := err.Error()
			found := false
			for base, field := range broken {
				if strings.Contains(msg, base) {
					found = true
					assert.Contains(t, msg, field, "the error names the field")
				}
			}
			assert.True(t, found, "an unexpected failure: %v", err)
			t.Logf("%v", err)
		}
	})
}

// TestSchemaAcceptsInlineSuite: an experiment written inline in a suite is
// held to the experiment schema.
func TestSchemaAcceptsInlineSuite(t *testing.T) {
	suite := printedSchema(t, "--suite")
	exp, err := os.ReadFile(filepath.Join("..", "..", "examples", "experiments", "local", "slow-primary.yaml"))
	require.NoError(t, err)
	var inline map[string]any
	require.NoError(t, yaml.Unmarshal(exp, &inline))
	doc := map[string]any{"version": "chaos/v1", "kind": "suite", "name": "inline",
		"experiments": []any{"a.yaml", map[string]any{"file": "b.yaml"}, map[string]any{"inline": inline}}}
	b, err := yaml.Marshal(doc)
	require.NoError(t, err)
	v, err := yamlValue(b)
	require.NoError(t, err)
	assert.NoError(t, suite.Validate(v))

	inline["faults"].([]any)[0].(map[string]any)["params"].(map[string]any)["delay_ms"] = 1
	b, err = yaml.Marshal(doc)
	require.NoError(t, err)
	v, err = yamlValue(b)
	require.NoError(t, err)
	assert.Error(t, suite.Validate(v), "an unknown fault parameter inline")

	for name, entry := range map[string]any{"both": map[string]any{"file": "a.yaml", "inline": inline}, "empty path": "", "neither": map[string]any{}} {
		doc["experiments"] = []any{entry}
		b, err := yaml.Marshal(doc)
		require.NoError(t, err)
		v, err := yamlValue(b)
		require.NoError(t, err)
		assert.Error(t, suite.Validate(v), name)
	}
}

// TestReportSchemaAcceptsResults validates real results against `chaos
// schema --report`: the golden result.json files of verify/report (one run
// each), the array `chaos demo -o json` and a game-day's combined
// result.json write for several, and refuses a report with a field it lacks.
func TestReportSchemaAcceptsResults(t *testing.T) {
	s := printedSchema(t, "--report")
	testdata := filepath.Join("..", "..", "verify", "report", "testdata")
	files, err := filepath.Glob(filepath.Join(testdata, "*result.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 2)
	var reps []*report.Report
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		assert.NoError(t, s.Validate(v), "%s", f)
		rs, err := report.ReadFile(f)
		require.NoError(t, err)
		reps = append(reps, rs...)
	}

	var combined bytes.Buffer
	require.NoError(t, report.WriteJSON(&combined, reps...))
	require.True(t, strings.HasPrefix(combined.String(), "["), "several runs are written as an array")
	path := filepath.Join(t.TempDir(), "result.json")
	require.NoError(t, report.WriteFile(path, "json", reps...), "as a game-day writes it")
	for name, b := range map[string][]byte{"-o json": combined.Bytes(), "result.json": mustRead(t, path)} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		require.NoError(t, err)
		assert.NoError(t, s.Validate(v), "combined %s", name)
	}

	for name, bad := range map[string]string{
		"an unknown field": strings.Replace(combined.String(), `"seed":`, `"retries": 3, "seed":`, 1),
		"an empty array":   "[]",
		"null in an array": "[null]",
	} {
		v, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		require.NoError(t, err)
		assert.Error(t, s.Validate(v), name)
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
