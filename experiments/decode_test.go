package experiments

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/internal/units"
)

// head is the first lines of most test documents (lines 1–4).
const head = `version: chaos/v1
name: t
stack: {vars: {gateway: "http://localhost:8080"}}
load: {url: "${gateway}/v1", rate: 10/s}
`

// fault1 is a valid faults section (lines 5–6 after head).
const fault1 = `faults:
  - {name: f1, kind: latency, target: {service: s}, for: 10s}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string // substrings of the error, in order of appearance
	}{
		{"unknown top-level field", head + fault1 + "lod: 1\n",
			[]string{`t.yaml:7:1: unknown field "lod", did you mean "load"? (valid: version, name, description, stack, load, steady_state, faults, checks, abort, recovery)`}},
		{"unknown param", head + "faults:\n  - {name: f1, kind: latency, target: {service: s}, for: 10s, params: {delya: 1s}}\n",
			[]string{`t.yaml:6:72: faults[0].params: unknown field "delya", did you mean "delay"? (valid: delay, jitter, share)`}},
		{"unknown inline check field lists common and kind fields", head + fault1 + "checks:\n  - {name: c, kind: probe, url: http://x, tagz: [a]}\n",
			[]string{`t.yaml:8:43: checks[0]: unknown field "tagz", did you mean "tags"? (valid: name, kind, during, after, url, tags, nested)`}},
		{"rate given a mapping", head[:strings.Index(head, "load")] + "load: {url: http://x, rate: {n: 5}}\n" + fault1,
			[]string{`t.yaml:4:29: load.rate: expected a rate like 50/s, got a mapping`}},
		{"rate text", strings.Replace(head, "10/s", "fast", 1) + fault1,
			[]string{`t.yaml:4:36: load.rate: "fast" is not a rate (valid: a count per unit, e.g. 50/s, 3000/m)`}},
		{"list given a mapping", head + "faults: {name: f1}\n",
			[]string{`t.yaml:5:9: faults: expected a list, got a mapping`}},
		{"mapping given a list", head + fault1 + "recovery: [1]\n",
			[]string{`t.yaml:7:11: recovery: expected a mapping, got a list`}},
		{"map of strings given a list", strings.Replace(head, "rate: 10/s", "rate: 10/s, headers: [a]", 1) + fault1,
			[]string{`load.headers: expected a mapping, got a list`}},
		{"string given a mapping", strings.Replace(head, "name: t", "name: {a: b}", 1) + fault1,
			[]string{`t.yaml:2:7: name: expected text, got a mapping`}},
		{"bool", strings.Replace(head, "rate: 10/s", "rate: 10/s, stream: maybe", 1) + fault1,
			[]string{`load.stream: expected true or false, got "maybe"`}},
		{"int", head + fault1 + "stack: {local: {primaries: 1.5}}\n",
			[]string{`stack: duplicate key "stack" (first at line 3)`}},
		{"int text", strings.Replace(head, "stack: {vars: {gateway: \"http://localhost:8080\"}}", "stack: {local: {primaries: two}}", 1) + fault1,
			[]string{`t.yaml:3:28: stack.local.primaries: expected a whole number, got "two"`}},
		{"negative duration", head + "faults:\n  - {name: f1, kind: latency, target: {service: s}, for: -5ms}\n",
			[]string{`t.yaml:6:58: faults[0].for: "-5ms" is negative (valid: a duration of 0 or more, e.g. 250ms)`}},
		{"percent out of range", head + "faults:\n  - {name: f1, kind: latency, target: {service: s}, for: 1s, params: {share: 140%}}\n",
			[]string{`faults[0].params.share: "140%" is out of range (valid: 0% to 100%)`}},
		{"duplicate key in a string map", strings.Replace(head, "rate: 10/s", "rate: 10/s, headers: {A: b, A: c}", 1) + fault1,
			[]string{`load.headers.A: duplicate key "A" (first at line 4)`}},
		{"missing required fields", "version: chaos/v1\nload: {rate: 1/s}\nfaults:\n  - {kind: latency, target: {service: s}}\nabort:\n  - {for: 1s}\n",
			[]string{`t.yaml:1:1: name: required field "name" is missing`,
				`t.yaml:2:7: load.url: required field "url" is missing`,
				`t.yaml:4:5: faults[0].name: required field "name" is missing`,
				`t.yaml:4:5: faults[0].for: required field "for" is missing`,
				`t.yaml:6:5: abort[0].when: required field "when" is missing`}},
		{"null counts as missing", strings.Replace(head, "name: t", "name:", 1) + fault1,
			[]string{`name: required field "name" is missing`}},
		{"unknown fault kind", head + "faults:\n  - {name: f1, kind: latncy, target: {service: s}, for: 1s}\n",
			[]string{`t.yaml:6:22: faults[0].kind: unknown fault kind "latncy", did you mean "latency"? (valid: latency, signal)`}},
		{"unknown check kind", head + fault1 + "checks:\n  - {name: c, kind: nope, whatever: 1}\n",
			[]string{`checks[0].kind: unknown check kind "nope" (valid: degraded, panicky, probe, slo)`}},
		{"validate problem placed at its field", head + fault1 + "checks:\n  - {name: c, kind: probe, url: http://x, nested: {limit: 90%}}\n",
			[]string{`t.yaml:8:59: checks[0].nested.limit: 90% is above 50%`}},
		{"validate problem of an absent field at its parent", head + fault1 + "checks:\n  - {name: c, kind: probe}\n",
			[]string{`t.yaml:8:5: checks[0].url: a URL is required`}},
		{"validate of defaults when params are omitted", head + "faults:\n  - {name: f1, kind: signal, target: {service: s}, for: 1s}\n",
			[]string{}},
		{"validate of params", head + "faults:\n  - {name: f1, kind: latency, target: {service: s}, for: 1s, params: {delay: 1s, jitter: 2s}}\n",
			[]string{`faults[0].params.jitter: 2s is more than delay 1s`}},
		{"no validate after a decoding error", head + "faults:\n  - {name: f1, kind: latency, target: {service: s}, for: 1s, params: {delay: x, jitter: 2s}}\n",
			[]string{`faults[0].params.delay: "x" is not a duration`}},
		{"panicking validate", head + fault1 + "checks:\n  - {name: c, kind: panicky}\n",
			[]string{`checks[0]: internal error: Validate panicked (please report): boom`}},
		{"non-scalar key", head + fault1 + "[a]: 1\n",
			[]string{`t.yaml:7:1: expected a plain name as key, got a list`}},
		{"empty list entry", head + "faults:\n  -\n",
			[]string{`t.yaml:6:4: faults[0]: empty list entry (valid: a mapping)`}},
		{"syntax error", head + "faults: [\n",
			[]string{`t.yaml:5:1: YAML syntax: did not find expected node content`}},
		{"tab", head + fault1 + "checks:\n\t- {name: c}\n",
			[]string{`t.yaml:8:1: YAML syntax: found character that cannot start any token (indent with spaces, not tabs)`}},
		{"empty file", "", []string{`t.yaml:1:1: the file is empty`}},
		{"only comments", "# nothing\n", []string{`t.yaml:1:1: the file has no YAML document`}},
		{"scalar document", "chaos\n", []string{`t.yaml:1:1: expected a mapping (version: chaos/v1, name: …) at the top of the file, got "chaos"`}},
		{"alias bomb", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nload: {url: http://x, rate: 1/s, body: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]}\n",
			[]string{`load.body: cannot read the value: document contains excessive aliasing`}},
		{"merge cycle", "load: &a {<<: *a, url: http://x}\n",
			[]string{`nested more than 64 levels deep (or an alias contains itself)`}},
		{"problems sorted by position", "name: x\nversion: chaos/v9\nload: {url: http://x, rate: 0/s}\nfaults: []\n",
			[]string{`t.yaml:2:10: version: unsupported version`, `t.yaml:3:29: load.rate: must be more than 0/s`, `t.yaml:4:9: faults: is empty (valid: at least one fault, or leave faults out`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, err := Parse("t.yaml", []byte(tt.doc), fakeRegistry())
			if len(tt.want) == 0 {
				require.NoError(t, err)
				require.NotNil(t, exp)
				return
			}
			require.Error(t, err)
			assert.Nil(t, exp)
			var ps Problems
			require.ErrorAs(t, err, &ps)
			msg := err.Error()
			rest := msg
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if !assert.GreaterOrEqual(t, i, 0, "want %q in order in:\n%s", w, msg) {
					break
				}
				rest = rest[i+len(w):]
			}
			for _, p := range ps {
				assert.GreaterOrEqual(t, p.Line, 1, "%s", p)
				assert.GreaterOrEqual(t, p.Col, 1, "%s", p)
			}
		})
	}
}

func TestParseValidPopulatesEverything(t *testing.T) {
	doc := `version: chaos/v1
name: full
description: every field
stack:
  local: {primaries: 3, variant: [no-breaker], gateway_args: [-x]}
  vars: {extra: "http://127.0.0.1:1"}
load:
  url: ${gateway}/v1/chat/completions
  method: PUT
  headers: {A: b}
  body: {model: m, n: 2, nested: [{k: v}], 1: one}
  stream: false
  stages:
    - {rate: 10/s, for: 5s}
    - {rate: 1/ms, ramp_to: 2000/s, for: 1m}
  classes:
    - {name: high, share: 25%}
    - {name: low, share: 75%, headers: {X-P: low}}
  timeout: 3s
  connections: 9
  degraded: {json: degraded, equals: "true"}
steady_state: {for: 4s, slo: {p99: 1500ms, error_rate: 1%}}
faults:
  - name: slow
    kind: latency
    target: {service: model-primary, pick: 50%}
    params: {delay: 2s}
    at: 1s
    for: 30s
  - {name: stop, kind: signal, target: {pid: 42}, for: 5s}
checks:
  - {name: ok, kind: slo, during: slow, after: 5s, class: high, error_rate: 2%}
  - {name: fb, kind: degraded, during: faults, min_share: 50%}
  - {name: probe, kind: probe, url: "${extra}/h", tags: [a, b]}
abort:
  - {when: "p99 > 5s", for: 15s, class: low}
recovery: {for: 20s}
`
	exp, err := Parse("full.yaml", []byte(doc), fakeRegistry())
	require.NoError(t, err)
	assert.Equal(t, "full.yaml", exp.File)
	assert.Equal(t, "every field", exp.Description)
	assert.Equal(t, &LocalStack{Primaries: 3, Variant: []string{"no-breaker"}, Gateway: []string{"-x"}}, exp.Stack.Local)
	assert.Equal(t, map[string]string{"extra": "http://127.0.0.1:1"}, exp.Stack.Vars)

	l := exp.Load
	assert.Equal(t, "PUT", l.Method)
	assert.Equal(t, map[string]string{"A": "b"}, l.Headers)
	assert.Equal(t, map[string]any{"model": "m", "n": 2, "nested": []any{map[string]any{"k": "v"}}, "1": "one"}, l.Body)
	require.NotNil(t, l.Stream)
	assert.False(t, *l.Stream)
	assert.Equal(t, []Stage{{Rate: 10, For: units.Duration(5 * time.Second)}, {Rate: 1000, RampTo: 2000, For: units.Duration(time.Minute)}}, l.Stages)
	assert.Equal(t, []Class{{Name: "high", Share: 0.25}, {Name: "low", Share: 0.75, Headers: map[string]string{"X-P": "low"}}}, l.Classes)
	assert.Equal(t, units.Duration(3*time.Second), l.Timeout)
	assert.Equal(t, 9, l.Connections)
	assert.Equal(t, &Marker{JSON: "degraded", Equals: "true"}, l.Degraded)

	require.NotNil(t, exp.SteadyState)
	assert.Equal(t, units.Duration(4*time.Second), exp.SteadyState.For)
	assert.Equal(t, units.Duration(1500*time.Millisecond), *exp.SteadyState.SLO.P99)
	assert.InDelta(t, 0.01, float64(*exp.SteadyState.SLO.ErrorRate), 1e-12)

	require.Len(t, exp.Faults, 2)
	f := exp.Faults[0]
	assert.Equal(t, "slow", f.Name)
	assert.Equal(t, "50%", f.Target.Pick)
	assert.Equal(t, units.Duration(time.Second), f.At)
	assert.Equal(t, &fakeLatency{Delay: units.Duration(2 * time.Second), Share: 1}, f.Params, "defaults kept for fields not written")
	assert.Equal(t, &fakeSignal{Signal: "STOP"}, exp.Faults[1].Params, "params omitted: all defaults")
	assert.Equal(t, 42, exp.Faults[1].Target.Pid)

	require.Len(t, exp.Checks, 3)
	c := exp.Checks[0]
	assert.Equal(t, "slow", c.During)
	assert.Equal(t, units.Duration(5*time.Second), c.After)
	slo, ok := c.Check.(*fakeSLO)
	require.True(t, ok, "%T", c.Check)
	assert.Equal(t, "high", slo.Class)
	assert.Equal(t, 10, slo.MinCount, "default kept")
	assert.InDelta(t, 0.02, float64(*slo.ErrorRate), 1e-12)
	assert.InDelta(t, 0.5, float64(*exp.Checks[1].Check.(*fakeDegraded).MinShare), 1e-12)
	assert.Equal(t, &fakeProbe{URL: "${extra}/h", Tags: []string{"a", "b"}}, exp.Checks[2].Check)

	assert.Equal(t, []Abort{{When: "p99 > 5s", For: units.Duration(15 * time.Second), Class: "low"}}, exp.Abort)
	assert.Equal(t, units.Duration(20*time.Second), exp.Recovery.For)
}

func TestParseMergeKeysAndAnchors(t *testing.T) {
	doc := head + `faults:
  - &base {name: a, kind: latency, target: {service: s}, for: 10s, params: {delay: 3s}}
  - <<: *base
    name: b
    at: 10s
    for: 5s
`
	exp, err := Parse("t.yaml", []byte(doc), fakeRegistry())
	require.NoError(t, err)
	require.Len(t, exp.Faults, 2)
	assert.Equal(t, "b", exp.Faults[1].Name)
	assert.Equal(t, units.Duration(5*time.Second), exp.Faults[1].For)
	assert.Equal(t, units.Duration(3*time.Second), exp.Faults[1].Params.(*fakeLatency).Delay)
	assert.NotSame(t, exp.Faults[0].Params, exp.Faults[1].Params, "each fault has its own params")
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile("testdata/no-such-file.yaml", DefaultRegistry())
	var ps Problems
	require.ErrorAs(t, err, &ps)
	require.Len(t, ps, 1)
	assert.Equal(t, 0, ps[0].Line, "a whole-file problem")
	assert.True(t, strings.HasPrefix(err.Error(), "testdata/no-such-file.yaml: cannot read the experiment"), err.Error())
}

func TestProblemError(t *testing.T) {
	assert.Equal(t, "f.yaml:3:5: load.rate: bad", Problem{File: "f.yaml", Line: 3, Col: 5, Path: "load.rate", Msg: "bad"}.Error())
	assert.Equal(t, "f.yaml:1:1: bad", Problem{File: "f.yaml", Line: 1, Col: 1, Msg: "bad"}.Error())
	assert.Equal(t, "f.yaml: bad", Problem{File: "f.yaml", Msg: "bad"}.Error())
	ps := Problems{{File: "f", Line: 2, Col: 1, Msg: "b"}, {File: "f", Line: 1, Col: 9, Msg: "a"}}
	assert.Equal(t, "f:2:1: b\nf:1:9: a", ps.Error())
	assert.Equal(t, "f:1:9: a\nf:2:1: b", ps.sorted().Error())
	var err error = ps
	assert.True(t, errors.As(err, new(Problems)))
}

func TestSuggest(t *testing.T) {
	valid := []string{"delay", "jitter", "share"}
	assert.Equal(t, "delay", suggest("delya", valid))
	assert.Equal(t, "share", suggest("shar", valid))
	assert.Equal(t, "", suggest("banana", valid))
	assert.Equal(t, "", suggest("x", []string{"p50"}), "no suggestion that replaces the whole name")
}

func TestParseEmptyRegistry(t *testing.T) {
	_, err := Parse("t.yaml", []byte(head+fault1), Registry{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `t.yaml:6:22: faults[0].kind: unknown fault kind "latency" (no fault kinds are registered)`)
}
