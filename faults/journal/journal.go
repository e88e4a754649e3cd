// Package journal is the write-ahead journal of a run: every change a fault is
// about to make is appended and fsynced before it is made, and marked undone
// after rollback. A run that dies leaves its file behind; `chaos recover` reads
// it and undoes what is still pending.
package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Entry is one journaled change and how to undo it.
type Entry struct {
	ID     int             `json:"id"`
	Run    string          `json:"run"`
	Fault  string          `json:"fault"`
	Target string          `json:"target,omitempty"`
	Action string          `json:"action"` // undo action name, see faults.Undoers
	Data   json.RawMessage `json:"data,omitempty"`
	Time   time.Time       `json:"time"`
}

type line struct {
	Op string `json:"op"` // "do", "undone", "closed"
	Entry
}

// Journal is one run's journal file. Its methods are safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	path    string
	run     string
	f       *os.File
	next    int
	pending map[int]Entry
}

// Open creates the journal file of run in dir (created if missing).
func Open(dir, run string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create journal folder %s: %w", dir, err)
	}
	path := filepath.Join(dir, run+".jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create journal %s: %w", path, err)
	}
	return &Journal{path: path, run: run, f: f, next: 1, pending: map[int]Entry{}}, nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Run is the id of the run the journal belongs to (faults tag what they
// add with it).
func (j *Journal) Run() string { return j.run }

// Record appends e (with a fresh id) and fsyncs before returning: call it
// before making the change. data is marshalled to JSON.
func (j *Journal) Record(fault, target, action string, data any) (Entry, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Entry{}, fmt.Errorf("journal %s: encode %s: %w", fault, action, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	e := Entry{ID: j.next, Run: j.run, Fault: fault, Target: target, Action: action, Data: raw, Time: time.Now().UTC()}
	if err := j.write(line{Op: "do", Entry: e}); err != nil {
		return Entry{}, err
	}
	j.next++
	j.pending[e.ID] = e
	return e, nil
}

// Undone marks an entry as rolled back.
func (j *Journal) Undone(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.pending[id]; !ok {
		return nil
	}
	delete(j.pending, id)
	return j.write(line{Op: "undone", Entry: Entry{ID: id}})
}

// Pending returns the entries not yet undone, newest first.
func (j *Journal) Pending() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return sortNewestFirst(j.pending)
}

// Close ends the journal. When nothing is pending the file is removed: a run
// that rolled everything back leaves no trace. Otherwise it stays for recover.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if len(j.pending) == 0 {
		if rerr := os.Remove(j.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = errors.Join(err, rerr)
		}
	}
	return err
}

func (j *Journal) write(l line) error {
	if j.f == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal %s: %w", j.path, err)
	}
	return nil
}

// Leftover is a journal file of a run that did not finish.
type Leftover struct {
	Path    string
	Run     string
	Pending []Entry // newest first
}

// Scan reads every journal in dir and returns those with pending entries.
// A missing dir is not an error. A torn last line (crash mid-write) is ignored.
func Scan(dir string) ([]Leftover, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Leftover
	for _, name := range names {
		pending, err := readPending(name)
		if err != nil {
			return out, err
		}
		run := strings.TrimSuffix(filepath.Base(name), ".jsonl")
		out = append(out, Leftover{Path: name, Run: run, Pending: sortNewestFirst(pending)})
	}
	return out, nil
}

func readPending(path string) (map[int]Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	defer f.Close()
	pending := map[int]Entry{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		var l line
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // torn write at a crash
		}
		switch l.Op {
		case "do":
			pending[l.ID] = l.Entry
		case "undone":
			delete(pending, l.ID)
		}
	}
	return pending, sc.Err()
}

// MarkUndone appends an undone line to a leftover journal file, and removes
// the file once nothing in it is pending.
func MarkUndone(path string, id int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("open journal %s: %w", path, err)
	}
	b, _ := json.Marshal(line{Op: "undone", Entry: Entry{ID: id}})
	_, werr := f.Write(append(b, '\n'))
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("write journal %s: %w", path, err)
	}
	pending, err := readPending(path)
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return os.Remove(path)
	}
	return nil
}

func sortNewestFirst(m map[int]Entry) []Entry {
	out := make([]Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID > out[b].ID })
	return out
}
