// Package lease gives a run exclusive use of its targets across the host:
// before injecting, a run leases each resolved target (a container, a
// process, a network namespace, a proxy route) in a folder every user's
// chaos sees. A lease is a file that names its run, locked by that run for
// its whole life; the kernel drops the lock when the run dies, and the file
// stays until the run's faults are undone (by its own rollback or by
// `chaos recover`). A second run that wants a leased target stops before it
// injects anything.
package lease

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/sysfile"
)

// HostDir is the host-wide lease folder: sticky and world-writable like
// /tmp, so every user's runs see each other and none can remove another's
// lease.
const HostDir = "/run/chaos/leases"

// Dir is where leases live: $CHAOS_LEASE_DIR, else HostDir when it can be
// made, else fallback (the state folder: leases then guard only this
// user's runs, and say so).
func Dir(fallback string) (dir string, hostWide bool) {
	if d := os.Getenv("CHAOS_LEASE_DIR"); d != "" {
		return d, true
	}
	if err := shared(HostDir); err == nil {
		return HostDir, true
	}
	return fallback, false
}

// shared makes dir sticky and world-writable, as /tmp is. Windows has no
// such folder: leases stay in the fallback there.
func shared(dir string) error {
	if !sysfile.Perms {
		return errors.New("no sticky, world-writable folders on this OS")
	}
	if st, err := os.Stat(dir); err == nil && st.IsDir() && st.Mode()&os.ModeSticky != 0 && st.Mode().Perm() == 0o777 {
		return sysfile.Writable(dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
		return err
	}
	return os.Chmod(filepath.Dir(dir), 0o755)
}

// Holder is what a lease file says of the run that holds it.
type Holder struct {
	Key        string    `json:"key"`
	Target     string    `json:"target"`
	Run        string    `json:"run"`
	Experiment string    `json:"experiment,omitempty"`
	Pid        int       `json:"pid"`
	UID        int       `json:"uid"`
	Started    time.Time `json:"started"`
}

func (h Holder) String() string {
	return fmt.Sprintf("run %s (pid %d, uid %d, experiment %q, started %s)", h.Run, h.Pid, h.UID, h.Experiment, h.Started.Local().Format(time.DateTime))
}

// HeldError says a target is leased by another run.
type HeldError struct {
	Holder Holder
	// Live is false when the holding run died without undoing its faults:
	// `chaos recover` (by the holder's user) releases it.
	Live bool
}

func (e *HeldError) Error() string {
	if e.Live {
		return fmt.Sprintf("target %s is in use by %s; this run injects nothing (wait for it to end, or pick another target)", e.Holder.Target, e.Holder)
	}
	return fmt.Sprintf("target %s still carries the faults of %s, which ended without rolling back; run `chaos recover --run %s` (as uid %d) first", e.Holder.Target, e.Holder, e.Holder.Run, e.Holder.UID)
}

// Lease is one held lease.
type Lease struct {
	path string
	f    *os.File
}

// File is the lease file of key in dir.
func File(dir, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(dir, hex.EncodeToString(sum[:16])+".lease")
}

// Acquire leases h.Key for h.Run. A lease this run already holds elsewhere
// in the process is the caller's to reuse (see Set).
func Acquire(dir string, h Holder) (*Lease, error) {
	path := File(dir, h.Key)
	for try := 0; try < 8; try++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|sysfile.NoFollow, 0o644)
		if errors.Is(err, os.ErrPermission) {
			// Another user's lease file: readable, not ours to write.
			return nil, othersLease(path)
		}
		if err != nil {
			return nil, fmt.Errorf("lease %s: %w", h.Target, err)
		}
		if err := sysfile.TryLock(f, true); err != nil {
			f.Close()
			if errors.Is(err, sysfile.ErrLocked) {
				held, rerr := read(path)
				if rerr != nil {
					return nil, fmt.Errorf("lease %s: held by a run whose lease cannot be read: %w", h.Target, rerr)
				}
				return nil, &HeldError{Holder: held, Live: true}
			}
			return nil, fmt.Errorf("lease %s: %w", h.Target, err)
		}
		if !samePath(f, path) {
			f.Close() // released and removed while we locked it: try the new file
			continue
		}
		prev, err := readFrom(f)
		if err == nil && prev.Run != "" && prev.Run != h.Run {
			f.Close()
			return nil, &HeldError{Holder: prev, Live: false}
		}
		h.Pid, h.UID = os.Getpid(), os.Geteuid()
		b, _ := json.Marshal(h)
		if err := f.Truncate(0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lease %s: %w", h.Target, err)
		}
		if _, err := f.WriteAt(append(b, '\n'), 0); err != nil {
			f.Close()
			return nil, fmt.Errorf("lease %s: %w", h.Target, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("lease %s: %w", h.Target, err)
		}
		return &Lease{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("lease %s: the lease file kept changing under us", h.Target)
}

// othersLease explains a lease file of another user.
func othersLease(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|sysfile.NoFollow, 0)
	if err != nil {
		return fmt.Errorf("lease file %s: %w", path, err)
	}
	defer f.Close()
	h, err := readFrom(f)
	if err != nil {
		return fmt.Errorf("lease file %s of another user cannot be read: %w", path, err)
	}
	live := errors.Is(sysfile.TryLock(f, false), sysfile.ErrLocked)
	return &HeldError{Holder: h, Live: live}
}

func samePath(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

func read(path string) (Holder, error) {
	f, err := os.Open(path)
	if err != nil {
		return Holder{}, err
	}
	defer f.Close()
	return readFrom(f)
}

func readFrom(f *os.File) (Holder, error) {
	b, err := io.ReadAll(io.LimitReader(io.NewSectionReader(f, 0, 1<<16), 1<<16))
	if err != nil {
		return Holder{}, err
	}
	var h Holder
	if len(b) == 0 {
		return h, nil
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("not a lease: %w", err)
	}
	return h, nil
}

// Release ends a lease whose target no longer carries any fault of its run:
// the file goes, then the lock.
func (l *Lease) Release() error {
	return sysfile.CloseRemoving(l.f, l.path)
}

// Keep drops the lock but leaves the file: the target still carries a fault
// that rollback could not undo, so no other run may take it before
// `chaos recover` does.
func (l *Lease) Keep() error { return l.f.Close() }

// ReleaseStale removes the lease of key left by run, once recover has
// undone run's faults. A lease that names another run, or that its run
// still holds, is left alone.
func ReleaseStale(dir, key, run string) error {
	path := File(dir, key)
	f, err := os.OpenFile(path, os.O_RDWR|sysfile.NoFollow, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lease file %s: %w", path, err)
	}
	defer f.Close()
	if err := sysfile.TryLock(f, true); err != nil {
		return nil // a live run holds it
	}
	h, err := readFrom(f)
	if err != nil || h.Run != run {
		return nil
	}
	if !samePath(f, path) {
		return nil
	}
	return sysfile.CloseRemoving(f, path)
}

// Holding reports the holder of key's lease, if any, and whether its run
// is alive.
func Holding(dir, key string) (h Holder, live, ok bool) {
	f, err := os.OpenFile(File(dir, key), os.O_RDONLY|sysfile.NoFollow, 0)
	if err != nil {
		return h, false, false
	}
	defer f.Close()
	h, err = readFrom(f)
	if err != nil || h.Run == "" {
		return h, false, false
	}
	live = errors.Is(sysfile.TryLock(f, false), sysfile.ErrLocked)
	return h, live, true
}

// Set is the leases of one run, one per key however many faults share it.
type Set struct {
	mu   sync.Mutex
	dir  string
	held map[string]*Lease
}

// NewSet starts an empty set of leases in dir.
func NewSet(dir string) *Set { return &Set{dir: dir, held: map[string]*Lease{}} }

// Dir is the folder of the set's leases.
func (s *Set) Dir() string { return s.dir }

// Take leases h.Key unless the set has it already.
func (s *Set) Take(h Holder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.held[h.Key]; ok {
		return nil
	}
	l, err := Acquire(s.dir, h)
	if err != nil {
		return err
	}
	s.held[h.Key] = l
	return nil
}

// Finish ends every lease: released when release is true (nothing of the
// run is left on its targets), otherwise kept for `chaos recover`.
func (s *Set) Finish(release bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for k, l := range s.held {
		if release {
			errs = append(errs, l.Release())
		} else {
			errs = append(errs, l.Keep())
		}
		delete(s.held, k)
	}
	return errors.Join(errs...)
}
