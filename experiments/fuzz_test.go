package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse with the real kinds: it must never
// panic (not even one recovered into an "internal error" problem), and every
// problem must have a position.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	reg := DefaultRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		exp, err := Parse("fuzz.yaml", data, reg)
		if err == nil {
			if exp == nil {
				t.Fatal("no experiment and no error")
			}
			return
		}
		ps, ok := err.(Problems)
		if !ok || len(ps) == 0 {
			t.Fatalf("error is %T %v, want Problems", err, err)
		}
		for _, p := range ps {
			if p.Line < 1 || p.Col < 1 {
				t.Errorf("problem without a position: %s", p)
			}
			if strings.Contains(p.Msg, "internal error") {
				t.Errorf("%s", p)
			}
		}
	})
}
