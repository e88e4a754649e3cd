package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const inlineExp = `
      version: chaos/v1
      name: inline-stop
      load: {url: "http://127.0.0.1:1/", method: GET, rate: 5/s}
      faults:
        - {name: pause, kind: process, target: {pid: 1}, params: {signal: STOP}, for: 5s}
`

func TestParseSuite(t *testing.T) {
	dir := t.TempDir()
	exp, err := os.ReadFile("../examples/experiments/local/slow-primary.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "slow.yaml"), exp, 0o644))
	src := `version: chaos/v1
kind: suite
name: weekly
schedule: "0 3 * * MON"
report_dir: out
continue_on_failure: true
seed: 7
variant: [no-breaker]
cooldown: {for: 30s, steady_state: false, within: 1m}
stack: {vars: {gateway: "http://127.0.0.1:8080"}}
experiments:
  - slow.yaml
  - {file: slow.yaml}
  - inline:` + inlineExp
	s, err := ParseSuite(filepath.Join(dir, "suite.yaml"), []byte(src), DefaultRegistry())
	require.NoError(t, err)
	assert.Equal(t, "weekly", s.Name)
	assert.Equal(t, "out", s.ReportDir)
	assert.True(t, s.ContinueOnFailure)
	assert.Equal(t, int64(7), s.Seed)
	assert.Equal(t, []string{"no-breaker"}, s.Variant)
	assert.Equal(t, 30*time.Second, s.Cooldown.For.D())
	assert.False(t, s.Cooldown.Gate())
	assert.Equal(t, "http://127.0.0.1:8080", s.Stack.Vars["gateway"])
	require.Len(t, s.Experiments, 3)
	assert.Equal(t, "slow-primary-trips-breaker", s.Experiments[0].Experiment.Name)
	assert.Equal(t, filepath.Join(dir, "slow.yaml"), s.Experiments[1].Experiment.File)
	assert.Equal(t, "inline-stop", s.Experiments[2].Experiment.Name)
	assert.NotNil(t, s.Experiments[2].Experiment.Faults[0].Params)
	assert.True(t, IsSuite([]byte(src)))
	assert.False(t, IsSuite(exp))
	var nilCooldown *Cooldown
	assert.True(t, nilCooldown.Gate(), "the steady-state gate is on by default")
}

// TestInvalidSuites: every mistake is reported at its line and column, an
// inline experiment's under experiments[i].inline.
func TestInvalidSuites(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"no kind", "version: chaos/v1\nname: x\nexperiments: [a.yaml]\n", `suite.yaml:1:1: kind: required field "kind" is missing`},
		{"wrong kind", "version: chaos/v1\nkind: suit\nname: x\nexperiments: [a.yaml]\n", `suite.yaml:2:7: kind: "suit" is not a suite kind`},
		{"no experiments", "version: chaos/v1\nkind: suite\nname: x\n", `suite.yaml:1:1: experiments: required field "experiments" is missing`},
		{"empty list", "version: chaos/v1\nkind: suite\nname: x\nexperiments: []\n", `suite.yaml:4:14: experiments: expected a list of experiments`},
		{"unknown key", "version: chaos/v1\nkind: suite\nname: x\ncontinue_on_failur: true\nexperiments: [a.yaml]\n", `suite.yaml:4:1: unknown field "continue_on_failur", did you mean "continue_on_failure"?`},
		{"bad variant", "version: chaos/v1\nkind: suite\nname: x\nvariant: [no-brakes]\nexperiments: [a.yaml]\n", `suite.yaml:4:11: variant[0]: unknown variant "no-brakes", did you mean "no-breaker"?`},
		{"bad schedule", "version: chaos/v1\nkind: suite\nname: x\nschedule: 0 25 * * *\nexperiments: [a.yaml]\n", `suite.yaml:4:11: schedule: "0 25 * * *" is not a cron schedule`},
		{"both file and inline", "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n  - file: a.yaml\n    inline:" + inlineExp, `suite.yaml:5:5: experiments[0]: set exactly one of file or inline`},
		{"entry key", "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n  - {path: a.yaml}\n", `suite.yaml:5:6: experiments[0]: unknown field "path"`},
		{"a list entry", "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n  - [a.yaml]\n", `suite.yaml:5:5: experiments[0]: expected a file path`},
		{"inline problem", "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n  - inline:\n      version: chaos/v1\n      name: y\n      load: {url: nope, rate: 1/s}\n      faults: [{name: f, kind: process, target: {pid: 1}, for: 1s}]\n",
			`suite.yaml:8:19: experiments[0].inline.load.url: "nope" is not an http URL`},
		{"missing file", "version: chaos/v1\nkind: suite\nname: x\nexperiments: [nothere.yaml]\n", `suite.yaml:4:15: experiments[0].file: cannot read the experiment`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := ParseSuite(filepath.Join(dir, "suite.yaml"), []byte(tt.src), DefaultRegistry())
			require.Error(t, err)
			assert.Nil(t, s)
			var ps Problems
			require.True(t, errors.As(err, &ps))
			assert.Contains(t, err.Error(), filepath.Join(dir, tt.want))
		})
	}
}

func TestBundledSuitesAreValid(t *testing.T) {
	files, err := filepath.Glob("../examples/gameday/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := LoadSuite(f)
			require.NoError(t, err)
			assert.NotEmpty(t, s.Experiments)
		})
	}
}
