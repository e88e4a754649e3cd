package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults/journal"
)

// Options configure an Agent.
type Options struct {
	// Node is the node the agent runs on (the downward API's spec.nodeName).
	Node string
	// StateDir holds the agent's journals (StateDir/journal): a hostPath,
	// so that an agent started again finds what the last one left.
	StateDir string
	// Token is what every request but /healthz must carry in TokenHeader.
	Token string
	// Log takes the agent's progress and what it undid (stderr).
	Log io.Writer
	// Watch is how often the agent checks that the pods it holds faults on
	// still run (default 1s): a deleted pod's faults are dropped.
	Watch time.Duration
	// Find finds a pod's process on this node; default FindPod through
	// /proc (the agent runs with hostPID).
	Find func(ctx context.Context, p Pod) (Proc, error)
}

// MaxLease and MaxHeld bound what one request may ask and what an agent
// holds at once.
const (
	MaxLease = 10 * time.Minute
	MaxHeld  = 1024
)

// Agent applies faults to the pods of its node for runs elsewhere, holds
// each by a lease, and undoes them when the lease runs out, the pod goes,
// the run says so, or the agent stops. It is an http.Handler (the API of
// api.go). Every change it makes is journaled first in its state folder,
// and an agent that starts undoes whatever an earlier one left there.
type Agent struct {
	o     Options
	j     *journal.Journal
	token []byte

	mu   sync.Mutex
	held map[string]*held
	// injecting is held while a fault is injected (see inject)
	injecting sync.Mutex

	wake    chan struct{}
	stop    chan struct{}
	stopped sync.Once
	loops   sync.WaitGroup
	undoing sync.WaitGroup
	// leftovers is set while a journal of an earlier agent still holds a
	// change that could not be undone: the reaper tries it again.
	leftovers bool
}

// JournalDir is where an agent keeps its journals under its state folder.
func JournalDir(stateDir string) string { return filepath.Join(stateDir, "journal") }

// Start undoes what earlier agents left in o.StateDir (before anything is
// served: a pod must not keep the faults of an agent that was evicted or
// killed), opens the agent's own journal and starts its reaper.
func Start(ctx context.Context, o Options) (*Agent, error) {
	if o.Node == "" {
		return nil, errors.New("agent: no node name (valid: --node NAME, or $NODE_NAME from the downward API's spec.nodeName)")
	}
	if o.StateDir == "" {
		return nil, errors.New("agent: no state folder (valid: --state-dir on a hostPath, e.g. /var/lib/chaos-agent)")
	}
	if len(o.Token) < MinToken {
		return nil, fmt.Errorf("agent: the token has %d characters, fewer than %d (valid: a random token of the Secret %s/%s key %s)", len(o.Token), MinToken, Namespace, SecretName, SecretKey)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Watch <= 0 {
		o.Watch = time.Second
	}
	if o.Find == nil {
		o.Find = func(ctx context.Context, p Pod) (Proc, error) { return FindPod("/proc", o.Node, p) }
	}
	a := &Agent{o: o, token: []byte(o.Token), held: map[string]*held{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	dir := JournalDir(o.StateDir)
	a.leftovers = !a.undoLeftovers(ctx, dir)
	id := fmt.Sprintf("agent-%s-%d-%04x", time.Now().UTC().Format("20060102T150405"), os.Getpid(), rand.Uint32()&0xffff)
	j, err := journal.Open(dir, journal.Meta{Run: id, Experiment: "chaos agent on node " + o.Node})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	a.j = j
	fmt.Fprintf(o.Log, "agent: node %s, journal %s\n", o.Node, j.Path())
	a.loops.Add(1)
	go a.reap()
	return a, nil
}

// Close stops the reaper and undoes every fault the agent holds (SIGTERM:
// a pod stopped, a DaemonSet rolled); the journal goes once nothing is
// left in it. A change that could not be undone stays in the journal for
// the next agent's start.
func (a *Agent) Close(ctx context.Context) error {
	a.stopped.Do(func() { close(a.stop) })
	a.loops.Wait()
	a.mu.Lock()
	hs := make([]*held, 0, len(a.held))
	for _, h := range a.held {
		hs = append(hs, h)
	}
	a.mu.Unlock()
	errs := make([]error, len(hs))
	var wg sync.WaitGroup
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = a.undo(ctx, h, because("the agent is stopping"))
		}()
	}
	wg.Wait()
	a.undoing.Wait()
	return errors.Join(append(errs, a.j.Close())...)
}

// Journal is the agent's journal file.
func (a *Agent) Journal() string { return a.j.Path() }

// nudge makes the reaper look again (a lease changed).
func (a *Agent) nudge() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *Agent) logf(format string, args ...any) {
	fmt.Fprintf(a.o.Log, "agent: "+format+"\n", args...)
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms" }
