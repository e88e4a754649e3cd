package journal

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/chaos-sre/chaos/internal/sysfile"
)

// ErrLive says a journal's run is still alive: it holds the journal's lock,
// and its faults are its own to undo.
var ErrLive = errors.New("the run is still alive")

// Leftover is a journal found in a state folder.
type Leftover struct {
	Path    string
	Run     string  // from the file name
	Meta    Meta    // the journal's first line (zero when unreadable)
	Pending []Entry // newest first
	Leases  []string
	// Live is true while the run that writes the journal holds its lock.
	Live bool
	// Err says why the journal cannot be read or trusted; such a journal is
	// reported and skipped, never acted on.
	Err error
}

// Scan reads every journal in dir. A missing dir is not an error; one
// journal that cannot be read is returned with its Err and does not stop the
// others. A torn last line (crash mid-write) is ignored.
func Scan(dir string) ([]Leftover, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read journal folder %s: %w", dir, err)
	}
	var out []Leftover
	for _, d := range ents {
		if !strings.HasSuffix(d.Name(), ".jsonl") {
			continue
		}
		out = append(out, scanOne(filepath.Join(dir, d.Name())))
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out, nil
}

func scanOne(path string) Leftover {
	l := Leftover{Path: path, Run: strings.TrimSuffix(filepath.Base(path), ".jsonl")}
	f, err := openTrusted(path, os.O_RDONLY)
	if err != nil {
		l.Err = err
		return l
	}
	defer f.Close()
	switch err := sysfile.TryLock(f, false); {
	case errors.Is(err, sysfile.ErrLocked):
		l.Live = true
	case err != nil:
		l.Err = fmt.Errorf("lock journal %s: %w", path, err)
		return l
	}
	l.Meta, l.Pending, l.Leases, l.Err = parse(f, path)
	return l
}

// openTrusted opens a journal only if it is a regular file of at most
// maxFile bytes, owned by this user and private to them: anything else
// could be planted, and recover acts on what a journal says.
func openTrusted(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|sysfile.NoFollow|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open journal %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	why := ""
	uid, owned := sysfile.Owner(st)
	switch {
	case !st.Mode().IsRegular():
		why = "not a regular file (" + st.Mode().Type().String() + ")"
	case st.Size() > maxFile:
		why = fmt.Sprintf("%d bytes, over the %d MB a journal may have", st.Size(), maxFile>>20)
	case owned && uid != os.Geteuid():
		why = fmt.Sprintf("owned by uid %d, not by you (uid %d)", uid, os.Geteuid())
	case sysfile.Perms && st.Mode().Perm()&0o077 != 0:
		why = fmt.Sprintf("mode %04o lets others read or write it (a journal is 0600)", st.Mode().Perm())
	}
	if why != "" {
		f.Close()
		return nil, fmt.Errorf("journal %s: %s; not trusted, skipped", path, why)
	}
	return f, nil
}

// parse reads a journal's lines: the pending entries, newest first, and the
// leases its run took.
func parse(r io.Reader, path string) (Meta, []Entry, []string, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxFile+1), 64<<10)
	pending := map[int]Entry{}
	var meta Meta
	var leases []string
	for n := 1; ; n++ {
		b, err := readLine(br)
		if errors.Is(err, io.EOF) && len(b) == 0 {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return meta, nil, nil, fmt.Errorf("journal %s line %d: %w", path, n, err)
		}
		var l line
		if json.Unmarshal(b, &l) != nil {
			if errors.Is(err, io.EOF) {
				break // a torn last line: the run died mid-write
			}
			return meta, nil, nil, fmt.Errorf("journal %s line %d: not a journal line", path, n)
		}
		if n == 1 {
			if l.Op != opOpen || l.Meta == nil {
				return meta, nil, nil, fmt.Errorf("journal %s: no header line (written by an older chaos?); not trusted, skipped", path)
			}
			meta = *l.Meta
			if meta.Version != Version {
				return meta, nil, nil, fmt.Errorf("journal %s: version %d, this chaos reads version %d; skipped", path, meta.Version, Version)
			}
			continue
		}
		switch l.Op {
		case opLease:
			leases = append(leases, l.Key)
		case opDo:
			if l.Run != meta.Run {
				return meta, nil, nil, fmt.Errorf("journal %s line %d: entry of run %q in the journal of run %q; not trusted, skipped", path, n, l.Run, meta.Run)
			}
			pending[l.ID] = l.Entry
		case opDone:
			if e, ok := pending[l.ID]; ok {
				e.Done = true
				pending[l.ID] = e
			}
		case opFailed, opUndone:
			delete(pending, l.ID)
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if meta.Run == "" {
		return meta, nil, nil, fmt.Errorf("journal %s is empty (its run died as it started); nothing to undo", path)
	}
	return meta, sortNewestFirst(pending), leases, nil
}

// readLine reads one line of at most maxLine bytes, without its newline.
func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > maxLine {
			return nil, fmt.Errorf("a line over %d bytes", maxLine)
		}
		switch {
		case err == nil:
			return out[:len(out)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return out, err
		}
	}
}

// Claimed is a dead run's journal, locked by the recover that undoes it.
type Claimed struct {
	Leftover
	f *os.File
}

// Claim locks the journal at path for recover. ErrLive means its run is
// still alive; nothing may be undone behind its back.
func Claim(path string) (*Claimed, error) {
	f, err := openTrusted(path, os.O_RDWR|os.O_APPEND)
	if err != nil {
		return nil, err
	}
	if err := sysfile.TryLock(f, true); err != nil {
		f.Close()
		if errors.Is(err, sysfile.ErrLocked) {
			return nil, ErrLive
		}
		return nil, fmt.Errorf("lock journal %s: %w", path, err)
	}
	c := &Claimed{Leftover: Leftover{Path: path, Run: strings.TrimSuffix(filepath.Base(path), ".jsonl")}, f: f}
	c.Meta, c.Pending, c.Leases, c.Err = parse(f, path)
	if c.Err != nil && c.Meta.Run == "" && c.Pending == nil && strings.Contains(c.Err.Error(), "is empty") {
		c.Err = nil // an empty journal: nothing to undo, Close removes it
	}
	if c.Err != nil {
		f.Close()
		return nil, c.Err
	}
	return c, nil
}

// Resolve appends that entry id is settled: op "undone", with a note when it
// was skipped (a target that is not the one changed).
func (c *Claimed) Resolve(id int, note string) error {
	if err := appendLine(c.f, c.Path, line{Op: opUndone, Note: note, Entry: Entry{ID: id}}); err != nil {
		return err
	}
	for i, e := range c.Pending {
		if e.ID == id {
			c.Pending = append(c.Pending[:i], c.Pending[i+1:]...)
			break
		}
	}
	return nil
}

// Close drops the lock; a journal with nothing pending is removed first.
func (c *Claimed) Close() error {
	remove := ""
	if len(c.Pending) == 0 {
		remove = c.Path
	}
	return sysfile.CloseRemoving(c.f, remove)
}
