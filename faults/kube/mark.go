package kube

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults"
)

// Prefix starts the annotation a fault writes on what it changes: Prefix +
// its kind (chaos.sre/scale, chaos.sre/cordon, chaos.sre/node-drain), so two
// faults of one run on one node keep a mark each.
const Prefix = "chaos.sre/"

// StaleAfter is how old a mark's renewal must be before a recover on
// another machine takes its run for dead (clocks a little apart included).
const StaleAfter = time.Minute

// RenewEvery is how often a run renews its marks while its faults are on
// (a variable for tests).
var RenewEvery = 10 * time.Second

// Mark is the annotation a fault writes on an object in the same request as
// its change, and removes in the same request as its undo: which run holds
// the object, what it set and what to restore.
type Mark struct {
	Run   string `json:"run"`
	Fault string `json:"fault"`
	Kind  string `json:"kind"`
	// Old is the value to restore and Set the value the run set (JSON: 3
	// and 0 replicas, false and true unschedulable). An undo restores Old
	// only while the object still has Set: else someone else changed it.
	Old json.RawMessage `json:"old"`
	Set json.RawMessage `json:"set"`
	// Host and Pid (with its start time on Linux) name the process of the
	// run; a recover on that host asks whether it still runs.
	Host     string `json:"host"`
	Pid      int    `json:"pid"`
	PidStart uint64 `json:"pid_start,omitempty"`
	// Renewed is when the run last said it is alive (every RenewEvery).
	Renewed time.Time `json:"renewed"`
}

// self is this process's Host, Pid and PidStart.
var self = func() Mark {
	h, _ := os.Hostname()
	m := Mark{Host: h, Pid: os.Getpid()}
	m.PidStart, _ = faults.StartTime(m.Pid)
	return m
}()

// newMark is the mark of a change made by this process.
func newMark(run, fault, kind string) Mark {
	m := self
	m.Run, m.Fault, m.Kind = run, fault, kind
	m.Renewed = time.Now().UTC().Truncate(time.Second)
	return m
}

// Ours says whether the mark was written by fault of run.
func (m Mark) ours(run, fault string) bool { return m.Run == run && m.Fault == fault }

// Age is how long ago the run last renewed the mark.
func (m Mark) Age(now time.Time) time.Duration { return now.Sub(m.Renewed).Truncate(time.Second) }

// String names the mark's run for messages.
func (m Mark) String() string {
	return fmt.Sprintf("run %s (fault %q, host %s, pid %d, renewed %s ago)", m.Run, m.Fault, m.Host, m.Pid, m.Age(time.Now()))
}

func (m Mark) encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// marks are the chaos marks among an object's annotations, by key.
func marks(annotations map[string]string) (map[string]Mark, error) {
	var out map[string]Mark
	for k, v := range annotations {
		if !strings.HasPrefix(k, Prefix) {
			continue
		}
		var m Mark
		if err := json.Unmarshal([]byte(v), &m); err != nil || m.Run == "" {
			return nil, fmt.Errorf("annotation %s is not a chaos mark (%.80q); remove it by hand once no run of chaos holds the object", k, v)
		}
		if out == nil {
			out = map[string]Mark{}
		}
		out[k] = m
	}
	return out, nil
}

// InUseError says an object carries the mark of another run: this run does
// not act on what it does not hold.
type InUseError struct {
	Object string
	Mark   Mark
	// Stale is true when the run stopped renewing its mark StaleAfter ago:
	// it looks dead, and `chaos recover --kubernetes` undoes its change.
	Stale bool
}

func (e *InUseError) Error() string {
	if e.Stale {
		return fmt.Sprintf("%s still carries the %s of %s, which looks dead; run `chaos recover --kubernetes` first", e.Object, e.Mark.Kind, e.Mark)
	}
	return fmt.Sprintf("%s is in use by %s (its %s); this run injects nothing (wait for it to end, or pick another target)", e.Object, e.Mark, e.Mark.Kind)
}

// free checks that an object carries no mark of another run, and returns
// the mark of this run's fault under key, if there is one.
func free(what string, annotations map[string]string, run, fault, key string) (Mark, bool, error) {
	ms, err := marks(annotations)
	if err != nil {
		return Mark{}, false, fmt.Errorf("%s: %w", what, err)
	}
	for _, m := range ms {
		if m.Run != run {
			return Mark{}, false, &InUseError{Object: what, Mark: m, Stale: m.Age(time.Now()) > StaleAfter}
		}
	}
	m, ok := ms[key]
	if ok && !m.ours(run, fault) {
		return Mark{}, false, fmt.Errorf("%s already carries the %s of fault %q of this run", what, m.Kind, m.Fault)
	}
	return m, ok, nil
}

// pointer is the JSON pointer of an annotation key (RFC 6901 escapes).
func pointer(key string) string {
	return "/metadata/annotations/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(key)
}

// jsonPatch encodes RFC 6902 operations.
type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func encodePatch(ops ...op) []byte {
	b, _ := json.Marshal(ops)
	return b
}

// testOp is a JSON patch test; its value may be false or 0, which
// omitempty would drop.
func testOp(path string, v json.RawMessage) op { return op{Op: "test", Path: path, Value: v} }

// annotationsOf is the object's annotations, never nil.
func annotationsOf(o object) map[string]string {
	if o.meta.Annotations == nil {
		return map[string]string{}
	}
	return o.meta.Annotations
}
