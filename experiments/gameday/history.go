package gameday

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/verify/report"
)

// IndexSchema versions the lines of index.jsonl.
const IndexSchema = "chaos.gameday/v1"

// Files of a suite's report folder.
const (
	IndexFile = "index.jsonl" // one Entry per run, appended
	IndexHTML = "index.html"  // the history page, rewritten after every run
	RunFile   = "gameday.json"
)

// Entry is one line of index.jsonl: a game-day run and the verdict of each
// of its experiments.
type Entry struct {
	Schema      string     `json:"schema"`
	Suite       string     `json:"suite"`
	File        string     `json:"file,omitempty"`
	Started     time.Time  `json:"started"`
	Ended       time.Time  `json:"ended"`
	Dir         string     `json:"dir" jsonschema:"description=the run's folder, relative to the index"`
	Verdict     string     `json:"verdict"`
	ExitCode    int        `json:"exit_code"`
	Experiments []ExpEntry `json:"experiments"`
}

// ExpEntry is one experiment of a run in the index.
type ExpEntry struct {
	Name          string   `json:"name"`
	Verdict       string   `json:"verdict" jsonschema:"enum=held,enum=failed,enum=aborted,enum=error,enum=not run"`
	ExitCode      int      `json:"exit_code"`
	TimeToRecover *float64 `json:"time_to_recover_s,omitempty"`
	Failed        []string `json:"failed_checks,omitempty"`
	Reason        string   `json:"reason,omitempty"`
	Report        string   `json:"report,omitempty" jsonschema:"description=its report.html, relative to the index"`
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func folderName(name string) string {
	s := strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if s == "" {
		return "experiment"
	}
	return s
}

// runFolder is a new dated folder name under dir, e.g. 2026-11-23T030000Z.
func runFolder(dir string, t time.Time) string {
	base := t.UTC().Format("2006-01-02T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// writeRun writes the run's reports into a new dated folder of dir — the
// combined result.json, junit.xml, summary.md and report.html on top, one
// folder per experiment, and gameday.json — then appends to index.jsonl and
// rewrites index.html.
func writeRun(dir string, res *Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report folder %s: %w", dir, err)
	}
	name := runFolder(dir, res.Started)
	res.Dir = filepath.Join(dir, name)
	var errs []error
	entry := Entry{Schema: IndexSchema, Suite: res.Suite, File: res.File, Started: res.Started, Ended: res.Ended,
		Dir: name, Verdict: res.Verdict, ExitCode: res.ExitCode}
	used := map[string]int{}
	for _, rep := range res.Reports {
		sub := folderName(rep.Experiment)
		used[sub]++
		if n := used[sub]; n > 1 {
			sub = fmt.Sprintf("%s-%d", sub, n)
		}
		if _, err := report.WriteDir(filepath.Join(res.Dir, sub), rep); err != nil {
			errs = append(errs, err)
		}
		e := ExpEntry{Name: rep.Experiment, Verdict: rep.Verdict, ExitCode: rep.ExitCode, Reason: rep.Reason,
			Report: name + "/" + sub + "/report.html"}
		if rep.TimeToRecover != nil {
			v := float64(*rep.TimeToRecover)
			e.TimeToRecover = &v
		}
		for _, c := range rep.Failed() {
			e.Failed = append(e.Failed, c.Name)
		}
		entry.Experiments = append(entry.Experiments, e)
	}
	for _, n := range res.NotRun {
		entry.Experiments = append(entry.Experiments, ExpEntry{Name: n.Experiment, Verdict: "not run", ExitCode: n.ExitCode, Reason: n.Reason})
	}
	if len(res.Reports) > 0 {
		for _, f := range []struct{ file, format string }{{"result.json", "json"}, {"junit.xml", "junit"}, {"summary.md", "markdown"}, {"report.html", "html"}} {
			if err := report.WriteFile(filepath.Join(res.Dir, f.file), f.format, res.Reports...); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := writeJSON(filepath.Join(res.Dir, RunFile), entry); err != nil {
		errs = append(errs, err)
	}
	if err := appendIndex(filepath.Join(dir, IndexFile), entry); err != nil {
		errs = append(errs, err)
	}
	if err := WriteIndexHTML(dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func writeJSON(path string, v any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// appendIndex appends one line to index.jsonl and syncs it.
func appendIndex(path string, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("history index: %w", err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		_ = f.Close()
		return fmt.Errorf("history index %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// ReadIndex reads index.jsonl of a report folder, oldest run first. A line
// that cannot be read (a run cut off mid-write) is skipped.
func ReadIndex(dir string) ([]Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		return nil, err
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Schema == IndexSchema {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, errNoRuns
	}
	return out, sc.Err()
}
