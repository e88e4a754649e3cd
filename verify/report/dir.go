package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Formats a report can be written in, by name.
var Formats = map[string]func(io.Writer, ...*Report) error{
	"json":     WriteJSON,
	"junit":    WriteJUnit,
	"markdown": WriteMarkdown,
	"html":     WriteHTML,
	"text":     func(w io.Writer, reps ...*Report) error { PrintSummary(w, reps...); return nil },
}

// Files in a report folder, by format.
var dirFiles = []struct{ name, format string }{
	{"result.json", "json"}, {"junit.xml", "junit"}, {"summary.md", "markdown"}, {"report.html", "html"},
}

// WriteFile writes reps in format to path, creating its folder.
func WriteFile(path, format string, reps ...*Report) (err error) {
	render, ok := Formats[format]
	if !ok {
		return fmt.Errorf("unknown report format %q", format)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	w := bufio.NewWriter(f)
	if err := render(w, reps...); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return w.Flush()
}

// WriteDir writes result.json, junit.xml, summary.md and report.html into
// dir. Several reports (chaos demo) get those four files combined at the top
// of dir — result.json then holds an array, report.html an overview and
// every run — and one subfolder per experiment with its own four files. It
// returns the paths it wrote.
func WriteDir(dir string, reps ...*Report) ([]string, error) {
	var written []string
	var errs []error
	put := func(sub string, rs ...*Report) {
		for _, f := range dirFiles {
			p := filepath.Join(dir, sub, f.name)
			if err := WriteFile(p, f.format, rs...); err != nil {
				errs = append(errs, err)
				continue
			}
			written = append(written, p)
		}
	}
	put("", reps...)
	if len(reps) > 1 {
		used := map[string]int{}
		for _, r := range reps {
			sub := folderName(r.Experiment)
			used[sub]++
			if n := used[sub]; n > 1 {
				sub = fmt.Sprintf("%s-%d", sub, n)
			}
			put(sub, r)
		}
	}
	return written, errors.Join(errs...)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// folderName makes an experiment name safe as a folder name.
func folderName(name string) string {
	s := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if s == "" {
		return "experiment"
	}
	return s
}
