//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputsThatCannotHurt: every command that reads a file refuses, with
// exit 2 and one line naming the file, a FIFO (without blocking on it), a
// folder, an 80 MiB file (from its size, without reading it), a suite that
// includes itself, a duration that overflows and a result with no runs. Its
// speed is measured by hand (see the issue), not asserted here.
func TestInputsThatCannotHurt(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	require.NoError(t, syscall.Mkfifo(at("fifo.yaml"), 0o644))
	require.NoError(t, os.WriteFile(at("big.yaml"), nil, 0o644))
	require.NoError(t, os.Truncate(at("big.yaml"), 80<<20))
	require.NoError(t, os.Mkdir(at("folder.yaml"), 0o755))
	write := func(name, text string) string {
		require.NoError(t, os.WriteFile(at(name), []byte(text), 0o644))
		return at(name)
	}
	suiteOf := func(entry string) string {
		return "version: chaos/v1\nkind: suite\nname: s\nexperiments:\n  - " + entry + "\n"
	}
	self := write("self.yaml", suiteOf("self.yaml"))
	write("inner.yaml", suiteOf("self.yaml"))
	nested := write("outer.yaml", suiteOf("inner.yaml"))
	overflow := write("overflow.yaml", `version: chaos/v1
name: x
stack: {local: {primaries: 2}}
load: {url: "${gateway}/v1/chat/completions", rate: 5/s}
faults:
  - name: slow
    kind: latency
    target: {service: model-primary}
    params: {delay: 5ms}
    at: 300000000000000s
    for: 9999999999h
`)
	null := write("null.json", "[null]")
	empty := write("empty.json", "[]")
	limit := func(what string) string {
		if what == "result" {
			return "64 MiB" // a result holds every second of its run
		}
		return "8 MiB"
	}
	valid := func(what string) string {
		return "(valid: the " + what + " as a regular file of at most " + limit(what) + ")"
	}
	fifoMsg := func(what string) string {
		return at("fifo.yaml") + ": is a named pipe (FIFO), not a file " + valid(what)
	}
	bigMsg := func(what string) string {
		return at("big.yaml") + ": is 80 MiB, over the " + limit(what) + " limit on input files " + valid(what)
	}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"run a FIFO", []string{"run", at("fifo.yaml")}, []string{fifoMsg("experiment")}},
		{"run 80 MiB", []string{"run", at("big.yaml")}, []string{bigMsg("experiment")}},
		{"run a folder", []string{"run", at("folder.yaml")}, []string{at("folder.yaml") + ": is a directory, not a file"}},
		{"run a suite", []string{"run", self}, []string{self + ":2:7: kind: this file is a suite, not an experiment (valid: run it with `chaos gameday " + self + "`"}},
		{"run an overflowing duration", []string{"run", overflow}, []string{
			overflow + `:10:9: faults[0].at: "300000000000000s" overflows: the longest duration is 100000h (about 11 years)`,
			overflow + `:11:10: faults[0].for: "9999999999h" overflows: the longest duration is 100000h`}},
		{"validate a FIFO", []string{"validate", at("fifo.yaml")}, []string{fifoMsg("experiment"), "1 of 1 experiment file(s) invalid"}},
		{"validate 80 MiB", []string{"validate", at("big.yaml")}, []string{bigMsg("experiment")}},
		{"gameday a FIFO", []string{"gameday", at("fifo.yaml")}, []string{fifoMsg("suite")}},
		{"gameday 80 MiB", []string{"gameday", at("big.yaml")}, []string{bigMsg("suite")}},
		{"gameday a suite including itself", []string{"gameday", self}, []string{self + ":5:5: experiments[0].file: self.yaml is this suite itself (valid: an experiment file; a suite cannot include itself)"}},
		{"gameday a suite including a suite", []string{"gameday", nested}, []string{nested + ":5:5: experiments[0].file: inner.yaml is a suite, not an experiment"}},
		{"validate a suite including itself", []string{"validate", self}, []string{self + ":5:5: experiments[0].file: self.yaml is this suite itself"}},
		{"report a FIFO", []string{"report", at("fifo.yaml")}, []string{fifoMsg("result")}},
		{"report 80 MiB", []string{"report", at("big.yaml")}, []string{bigMsg("result")}},
		{"report a null run", []string{"report", null}, []string{null + `: not a chaos report: run 1 of 1: null`}},
		{"report no runs with --exit-code", []string{"report", "--exit-code", empty}, []string{empty + ": not a chaos report: an empty list, no runs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := chaos(t, tt.args...)
			assert.Equal(t, 2, code, "stderr:\n%s", stderr)
			assert.Empty(t, out)
			for _, w := range tt.want {
				assert.Contains(t, stderr, w)
			}
			assert.NotContains(t, stderr, "panic")
		})
	}
}

// TestValidateFolderWithAFIFO: a FIFO named like an experiment inside a
// folder is reported and the rest still validated.
func TestValidateFolderWithAFIFO(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "a.yaml"), 0o644))
	exp, err := os.ReadFile("../../experiments/testdata/valid/minimal.yaml")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yaml"), exp, 0o644))
	code, out, stderr := chaos(t, "validate", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, filepath.Join(dir, "a.yaml")+": is a named pipe (FIFO), not a file")
	assert.Contains(t, stderr, "1 of 2 experiment file(s) invalid")
	assert.Contains(t, out, filepath.Join(dir, "b.yaml")+": valid")
}
