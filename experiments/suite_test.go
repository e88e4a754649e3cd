//go:build unix

package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
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
        - {name: pause, kind: process, target: {pid: 4242}, params: {signal: STOP}, for: 5s}
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
			s, err := ParseSuite(filepath.Join(dir, "suite.yaml"), []byte(tt.src), withVariants())
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
			s, err := LoadSuite(f, DefaultRegistry())
			require.NoError(t, err)
			assert.NotEmpty(t, s.Experiments)
		})
	}
}

// TestSuiteEntriesThatAreNotExperiments: the suite itself, another suite, a
// FIFO, a folder or a file over the size limit listed as an experiment is
// refused at its entry, with the file and what would be valid.
func TestSuiteEntriesThatAreNotExperiments(t *testing.T) {
	dir := t.TempDir()
	head := "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "other.yaml"), []byte(head+"  - inline:"+inlineExp), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.yaml"), nil, 0o644))
	require.NoError(t, os.Truncate(filepath.Join(dir, "big.yaml"), 80<<20))
	require.NoError(t, os.Symlink("suite.yaml", filepath.Join(dir, "alias.yaml")))
	tests := []struct{ name, entry, want string }{
		{"itself", "suite.yaml", `suite.yaml:5:5: experiments[0].file: suite.yaml is this suite itself (valid: an experiment file; a suite cannot include itself)`},
		{"itself as a mapping", "{file: ./suite.yaml}", `suite.yaml:5:12: experiments[0].file: ./suite.yaml is this suite itself`},
		{"itself through a link", "alias.yaml", `suite.yaml:5:5: experiments[0].file: alias.yaml is this suite itself`},
		{"another suite", "other.yaml", `suite.yaml:5:5: experiments[0].file: other.yaml is a suite, not an experiment (valid: an experiment file; suites do not include suites`},
		{"a FIFO", "fifo.yaml", `suite.yaml:5:5: experiments[0].file: ` + filepath.Join(dir, "fifo.yaml") + ` is a named pipe (FIFO), not a file (valid: the experiment as a regular file of at most 8 MiB)`},
		{"a folder", "folder.yaml", `suite.yaml:5:5: experiments[0].file: ` + filepath.Join(dir, "folder.yaml") + ` is a directory, not a file`},
		{"too big", "big.yaml", `suite.yaml:5:5: experiments[0].file: ` + filepath.Join(dir, "big.yaml") + ` is 80 MiB, over the 8 MiB limit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, "suite.yaml")
			src := head + "  - " + tt.entry + "\n"
			require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
			s, err := LoadSuite(file, DefaultRegistry())
			require.Error(t, err)
			assert.Nil(t, s)
			var ps Problems
			require.True(t, errors.As(err, &ps))
			assert.Len(t, ps, 1, "%s", err)
			assert.Contains(t, err.Error(), filepath.Join(dir, tt.want))
		})
	}
}

// TestLoadRefusesInputs: experiment and suite files that are not regular
// files, or are over the size limit, are one whole-file problem.
func TestLoadRefusesInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, nil, 0o644))
	require.NoError(t, os.Truncate(big, 80<<20))
	load := func(f string) error { _, err := LoadFile(f, DefaultRegistry()); return err }
	suite := func(f string) error { _, err := LoadSuite(f, DefaultRegistry()); return err }
	tests := []struct {
		name string
		load func(string) error
		file string
		want string
	}{
		{"experiment FIFO", load, fifo, fifo + ": is a named pipe (FIFO), not a file (valid: the experiment as a regular file of at most 8 MiB)"},
		{"experiment too big", load, big, big + ": is 80 MiB, over the 8 MiB limit on input files (valid: the experiment as a regular file of at most 8 MiB)"},
		{"experiment folder", load, dir, dir + ": is a directory, not a file"},
		{"suite FIFO", suite, fifo, fifo + ": is a named pipe (FIFO), not a file (valid: the suite as a regular file"},
		{"suite too big", suite, big, big + ": is 80 MiB, over the 8 MiB limit on input files (valid: the suite"},
		{"suite missing", suite, filepath.Join(dir, "no.yaml"), filepath.Join(dir, "no.yaml") + ": cannot read the suite: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(tt.file)
			var ps Problems
			require.True(t, errors.As(err, &ps), "%v", err)
			require.Len(t, ps, 1)
			assert.Equal(t, 0, ps[0].Line, "a problem with the whole file")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestSuiteIsNotAnExperiment: `chaos run` on a suite says to use gameday,
// in one problem at its kind.
func TestSuiteIsNotAnExperiment(t *testing.T) {
	exp, err := Parse("weekly.yaml", []byte("version: chaos/v1\nname: x\nkind: suite\nexperiments: [a.yaml]\n"), DefaultRegistry())
	assert.Nil(t, exp)
	require.Error(t, err)
	assert.Equal(t, "weekly.yaml:3:7: kind: this file is a suite, not an experiment (valid: run it with `chaos gameday weekly.yaml`; an experiment file has no kind)", err.Error())
}
