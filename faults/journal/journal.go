// Package journal is the write-ahead journal of a run: every change a fault is
// about to make is appended and fsynced before it is made (its intent), then
// its outcome (done or failed), then its undo. A run holds an exclusive lock
// on its journal for its whole life; the kernel drops the lock when the
// process dies, so `chaos recover` can tell a live run (hands off) from a
// killed one (undo what it left).
package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/sysfile"
)

// Version is the journal format this package writes. Journals of another
// version are reported and left alone: their entries lack the identity an
// undo checks before acting.
const Version = 2

// Entry is one journaled change and how to undo it.
type Entry struct {
	ID     int    `json:"id"`
	Run    string `json:"run"`
	Fault  string `json:"fault"`
	Target string `json:"target,omitempty"`
	// Key is the lease key of the target the change was made to (see
	// faults/lease): recover acts only on targets its run leased.
	Key    string          `json:"key,omitempty"`
	Action string          `json:"action"` // undo action name, see kinds.Undoers
	Data   json.RawMessage `json:"data,omitempty"`
	Time   time.Time       `json:"time"`
	// Done is true once the change is known to have taken effect; a pending
	// entry without it was begun by a run that died before it could tell.
	Done bool `json:"-"`
}

// Meta says whose journal it is: the first line of every journal.
type Meta struct {
	Version    int       `json:"version"`
	Run        string    `json:"run"`
	Experiment string    `json:"experiment,omitempty"`
	File       string    `json:"file,omitempty"`
	Pid        int       `json:"pid"`
	UID        int       `json:"uid"`
	Started    time.Time `json:"started"`
}

// String names the run for messages: run ID (pid P, experiment E, started T).
func (m Meta) String() string {
	return fmt.Sprintf("run %s (pid %d, experiment %q, started %s)", m.Run, m.Pid, m.Experiment, m.Started.Local().Format(time.DateTime))
}

// Ops of a journal line.
const (
	opOpen   = "open"   // the Meta
	opLease  = "lease"  // a lease about to be taken (Entry.Key)
	opDo     = "do"     // the intent to make a change
	opDone   = "done"   // the change took effect
	opFailed = "failed" // the change did not take effect: nothing to undo
	opUndone = "undone" // the change was undone (or found gone)
)

type line struct {
	Op   string `json:"op"`
	Meta *Meta  `json:"meta,omitempty"`
	Note string `json:"note,omitempty"`
	Entry
}

// Limits on what a journal may be: recover reads files that a crash, a full
// disk or another user may have left, and none of them may stop it.
const (
	maxFile = 64 << 20
	maxLine = 1 << 20
)

// Journal is one run's journal file, locked for the run's life. Its methods
// are safe for concurrent use.
type Journal struct {
	mu      sync.Mutex
	path    string
	meta    Meta
	f       *os.File
	next    int
	pending map[int]Entry
	leases  []string
}

// Open creates and locks the journal of meta.Run in dir. The folder is made
// 0700 and the file 0600: journals say what was done to which target, and
// recover acts on them.
func Open(dir string, meta Meta) (*Journal, error) {
	if err := privateDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, meta.Run+".jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create journal %s: %w", path, err)
	}
	if err := sysfile.TryLock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	meta.Version = Version
	if meta.Pid == 0 {
		meta.Pid = os.Getpid()
	}
	meta.UID = os.Geteuid()
	if meta.Started.IsZero() {
		meta.Started = time.Now()
	}
	j := &Journal{path: path, meta: meta, f: f, next: 1, pending: map[int]Entry{}}
	if err := j.write(line{Op: opOpen, Meta: &meta}); err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return j, nil
}

// privateDir makes dir (and its parents) and makes sure dir itself is 0700
// and ours: another user must not plant or read journals.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create journal folder %s: %w", dir, err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("journal folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("journal folder %s is not a folder", dir)
	}
	if uid, ok := sysfile.Owner(st); ok && uid != os.Geteuid() {
		return fmt.Errorf("journal folder %s belongs to uid %d, not to you (uid %d): set CHAOS_STATE_DIR to a folder of your own", dir, uid, os.Geteuid())
	}
	if st.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("journal folder %s: make it private: %w", dir, err)
		}
	}
	return nil
}

// Path is the journal's file.
func (j *Journal) Path() string { return j.path }

// Run is the id of the run the journal belongs to (faults tag what they
// add with it).
func (j *Journal) Run() string { return j.meta.Run }

// Meta is the journal's first line.
func (j *Journal) Meta() Meta { return j.meta }

// Lease records, before the lease is taken, that the run is about to lease
// key: recover releases the leases its run took.
func (j *Journal) Lease(key string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.leases = append(j.leases, key)
	return j.write(line{Op: opLease, Entry: Entry{Key: key}})
}

// Record appends the intent of a change (with a fresh id) and fsyncs before
// returning: call it before making the change, then Done or Failed with its
// outcome. data is marshalled to JSON.
func (j *Journal) Record(fault, target, key, action string, data any) (Entry, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Entry{}, fmt.Errorf("journal %s: encode %s: %w", fault, action, err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	e := Entry{ID: j.next, Run: j.meta.Run, Fault: fault, Target: target, Key: key, Action: action, Data: raw, Time: time.Now().UTC()}
	if err := j.write(line{Op: opDo, Entry: e}); err != nil {
		return Entry{}, err
	}
	j.next++
	j.pending[e.ID] = e
	return e, nil
}

// Done records that the change of entry id took effect.
func (j *Journal) Done(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	e, ok := j.pending[id]
	if !ok {
		return nil
	}
	e.Done = true
	j.pending[id] = e
	return j.write(line{Op: opDone, Entry: Entry{ID: id}})
}

// Failed records that the change of entry id did not take effect: there is
// nothing to undo, and nothing will be.
func (j *Journal) Failed(id int, why error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.pending[id]; !ok {
		return nil
	}
	delete(j.pending, id)
	return j.write(line{Op: opFailed, Note: errText(why), Entry: Entry{ID: id}})
}

// Undone marks an entry as rolled back.
func (j *Journal) Undone(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.pending[id]; !ok {
		return nil
	}
	delete(j.pending, id)
	return j.write(line{Op: opUndone, Entry: Entry{ID: id}})
}

// Pending returns the entries not yet undone, newest first.
func (j *Journal) Pending() []Entry {
	j.mu.Lock()
	defer j.mu.Unlock()
	return sortNewestFirst(j.pending)
}

// Close ends the journal and drops its lock. When nothing is pending the
// file is removed first: a run that rolled everything back leaves no trace.
// Otherwise it stays for recover.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.f == nil {
		return nil
	}
	remove := ""
	if len(j.pending) == 0 {
		remove = j.path
	}
	err := sysfile.CloseRemoving(j.f, remove)
	j.f = nil
	return err
}

func (j *Journal) write(l line) error {
	if j.f == nil {
		return fmt.Errorf("journal %s is closed", j.path)
	}
	return appendLine(j.f, j.path, l)
}

func appendLine(f *os.File, path string, l line) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write journal %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync journal %s: %w", path, err)
	}
	return nil
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sortNewestFirst(m map[int]Entry) []Entry {
	out := make([]Entry, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].ID > out[b].ID })
	return out
}
