package experiments

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInvalidFiles parses every file in testdata/invalid with the real kinds;
// each must fail with a file:line:col line containing its "# want:" text.
func TestInvalidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 24)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			first, _, _ := bytes.Cut(data, []byte("\n"))
			want, ok := strings.CutPrefix(string(first), "# want: ")
			require.True(t, ok, "first line must be # want: <text>")

			exp, err := Parse(file, data, withVariants())
			require.Error(t, err)
			assert.Nil(t, exp)
			var ps Problems
			require.True(t, errors.As(err, &ps), "error is %T", err)
			pos := regexp.MustCompile(`^` + regexp.QuoteMeta(file) + `:\d+:\d+: `)
			sc := bufio.NewScanner(strings.NewReader(err.Error()))
			found := false
			for sc.Scan() {
				assert.Regexp(t, pos, sc.Text())
				found = found || strings.Contains(sc.Text(), want)
			}
			assert.True(t, found, "no line contains %q in:\n%s", want, err)
			if filepath.Base(file) == "many-errors.yaml" {
				assert.GreaterOrEqual(t, len(ps), 12, "%s", err)
			} else {
				assert.Len(t, ps, 1, "one mistake, one problem:\n%s", err)
			}
		})
	}
}

// TestValidFiles parses every file in testdata/valid with the real kinds.
func TestValidFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/valid/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			exp, err := LoadFile(file, DefaultRegistry())
			require.NoError(t, err)
			assert.Equal(t, Version, exp.Version)
			assert.Equal(t, file, exp.File)
			for _, f := range exp.Faults {
				assert.NotNil(t, f.Params, "fault %s", f.Name)
			}
			for _, c := range exp.Checks {
				assert.NotNil(t, c.Check, "check %s", c.Name)
			}
		})
	}
}
