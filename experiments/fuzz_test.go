//go:build unix

package experiments

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
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

// FuzzParseSuite feeds arbitrary bytes to ParseSuite, in a folder holding an
// experiment, a suite and a FIFO it may name: it must never panic nor block,
// and every problem must have a file.
func FuzzParseSuite(f *testing.F) {
	dir := f.TempDir()
	exp, err := os.ReadFile("testdata/valid/minimal.yaml")
	if err != nil {
		f.Fatal(err)
	}
	head := "version: chaos/v1\nkind: suite\nname: x\nexperiments:\n"
	for name, data := range map[string]string{"exp.yaml": string(exp), "other.yaml": head + "  - exp.yaml\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644); err != nil {
		f.Fatal(err)
	}
	suites, _ := filepath.Glob("../examples/gameday/*.yaml")
	for _, file := range suites {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, entries := range []string{"  - exp.yaml\n", "  - suite.yaml\n", "  - other.yaml\n", "  - fifo.yaml\n", "  - .\n",
		"  - {file: exp.yaml}\n  - inline:\n      version: chaos/v1\n      name: y\n      load: {url: \"http://127.0.0.1:1/\", rate: 1/s}\n      faults: [{name: f, kind: latency, target: {url: \"http://127.0.0.1:1/\"}, params: {delay: 1ms}, for: 1s}]\n",
		"  - &a exp.yaml\n  - *a\n"} {
		f.Add([]byte(head + entries))
	}
	f.Add([]byte(head + "  - exp.yaml\ncooldown: {for: 9999999999h, within: 300000000000000s}\n"))
	reg := DefaultRegistry()
	file := filepath.Join(dir, "suite.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSuite(file, data, reg)
		if err == nil {
			if s == nil || len(s.Experiments) == 0 {
				t.Fatal("no suite, or one without experiments, and no error")
			}
			return
		}
		ps, ok := err.(Problems)
		if !ok || len(ps) == 0 {
			t.Fatalf("error is %T %v, want Problems", err, err)
		}
		for _, p := range ps {
			if p.File == "" {
				t.Errorf("problem without a file: %s", p)
			}
			if strings.Contains(p.Msg, "internal error") {
				t.Errorf("%s", p)
			}
		}
	})
}
