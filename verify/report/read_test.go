//go:build unix

package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/internal/safefile"
)

// TestReadJSONRefuses: input that is not a list of real reports is an error
// naming what is wrong, never a panic nor an empty list of runs.
func TestReadJSONRefuses(t *testing.T) {
	ok := `{"schema": "chaos.report/v2", "experiment": "x", "exit_code": 1}`
	v1 := `{"schema": "chaos.report/v1", "experiment": "old", "exit_code": 0}`
	tests := []struct{ name, in, want string }{
		{"null in a list", `[null]`, `not a chaos report: run 1 of 1: null (valid: a report object with schema "chaos.report/v2")`},
		{"null after a report", `[` + ok + `, null]`, `run 2 of 2: null`},
		{"null alone", `null`, `not a chaos report: null`},
		{"empty list", `[]`, `not a chaos report: an empty list, no runs`},
		{"empty input", ``, `not a chaos report: unexpected end of JSON input`},
		{"a string", `"x"`, `not a chaos report: json: cannot unmarshal string`},
		{"no schema", `{}`, `report schema "" is not "chaos.report/v2" (or the older "chaos.report/v1")`},
		{"other schema in a list", `[` + ok + `, {"schema": "chaos.report/v3"}]`, `run 2 of 2: report schema "chaos.report/v3" is not`},
		{"exit code too big", `{"schema": "chaos.report/v1", "exit_code": 255}`, `exit_code 255 does not exist (valid: 0 to 5)`},
		{"exit code negative", `[{"schema": "chaos.report/v1", "exit_code": -1}]`, `run 1 of 1: exit_code -1 does not exist`},
		{"trailing garbage", ok + `}`, `not a chaos report: invalid character`},
		{"many tiny objects", `{"schema": "chaos.report/v2", "load": {"seconds": [` + strings.Repeat(`{},`, 100_000) + `{}]}}`, `not a chaos report: 100003 JSON objects in 300056 bytes would take gigabytes to render (valid: a result chaos wrote, with at most one object per 40 bytes)`},
		{"too big", `[` + strings.Repeat(" ", MaxFileSize) + ok + `]`, `not a chaos report: more than 64 MiB`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps, err := ReadJSON(strings.NewReader(tt.in))
			require.Error(t, err)
			assert.Nil(t, reps)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	reps, err := ReadJSON(strings.NewReader(`[` + ok + `,` + ok + `,` + v1 + `]`))
	require.NoError(t, err)
	assert.Len(t, reps, 3, "v1 reports still read: v2 only added fields")
}

// TestReadFileRefuses: a result that is not a regular file, or is over the
// size limit, is refused before it is read.
func TestReadFileRefuses(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "result.fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	big := filepath.Join(dir, "big.json")
	require.NoError(t, os.WriteFile(big, nil, 0o644))
	require.NoError(t, os.Truncate(big, 80<<20))
	tests := []struct{ name, path, want string }{
		{"FIFO", fifo, fifo + ": is a named pipe (FIFO), not a file (valid: the result as a regular file of at most 64 MiB)"},
		{"too big", big, big + ": is 80 MiB, over the 64 MiB limit on input files (valid: the result as a regular file of at most 64 MiB)"},
		{"folder", dir, dir + ": is a directory, not a file (valid: the result as a regular file of at most 64 MiB)"},
		{"missing", filepath.Join(dir, "no.json"), filepath.Join(dir, "no.json") + ": cannot read the result: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reps, err := ReadFile(tt.path)
			require.Error(t, err)
			assert.Nil(t, reps)
			assert.Equal(t, tt.want, err.Error())
		})
	}
	_, err := ReadFile(filepath.Join(dir, "no.json"))
	assert.True(t, errors.Is(err, fs.ErrNotExist))
}

// TestReadJSONCompact: a result compacted (jq -c) has more objects per byte
// and is still read.
func TestReadJSONCompact(t *testing.T) {
	b, err := os.ReadFile("testdata/result.json")
	require.NoError(t, err)
	var c bytes.Buffer
	require.NoError(t, json.Compact(&c, b))
	reps, err := ReadJSON(&c)
	require.NoError(t, err)
	assert.NotEmpty(t, reps[0].Load.Seconds)
}

// TestReadFileLongRun: a result.json of a long run is larger than the limit
// on experiments, and chaos still reads its own output.
func TestReadFileLongRun(t *testing.T) {
	reps, err := ReadFile("testdata/result.json")
	require.NoError(t, err)
	r := reps[0]
	one := r.Load.Seconds
	for len(r.Load.Seconds) < 6000 {
		r.Load.Seconds = append(r.Load.Seconds, one...)
	}
	path := filepath.Join(t.TempDir(), "result.json")
	require.NoError(t, WriteFile(path, "json", r))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Greater(t, st.Size(), int64(safefile.MaxSize), "larger than an experiment may be")
	back, err := ReadFile(path)
	require.NoError(t, err)
	assert.Len(t, back[0].Load.Seconds, len(r.Load.Seconds))
}

// FuzzReadReport feeds arbitrary bytes to ReadJSON: it must never panic, and
// whatever it accepts every format must render without panicking.
func FuzzReadReport(f *testing.F) {
	for _, file := range []string{"testdata/result.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(append([]byte("["), b...), ']'))
	}
	for _, s := range []string{`[null]`, `null`, `[]`, `{}`, `{"schema":"chaos.report/v1"}`,
		`{"schema":"chaos.report/v1","checks":[null],"faults":[{}],"load":{"seconds":[{}]},"series":[{"points":[]}],"time_to_recover_s":1e300}`,
		`{"schema":"chaos.report/v1","experiment":"a|b<script>*_[x](y)\n# h","verdict":"failed","exit_code":1,"checks":[{"name":"c|d","held":false,"reason":"r\n|"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		reps, err := ReadJSON(bytes.NewReader(data))
		if err != nil {
			if reps != nil {
				t.Fatal("reports and an error")
			}
			return
		}
		if len(reps) == 0 {
			t.Fatal("no reports and no error")
		}
		if c := Worst(reps); c < 0 || c > 4 {
			t.Fatalf("worst exit code %d", c)
		}
		for name, render := range Formats {
			var b bytes.Buffer
			if err := render(&b, reps...); err != nil && name != "json" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}
