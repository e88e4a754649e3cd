// Package connection is the connection family: connections the chaos
// process itself opens and holds (exhaust), with the per-second series of
// what it held.
package connection

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/osproc"
	"github.com/chaos-sre/chaos/internal/units"
)

// Exhaust opens and holds connections to the target's address until
// rollback: idle ones, or slowloris ones that trickle a never-ending request
// header so the server keeps waiting for it. It keeps its count: a
// connection the server closes or resets is opened again (paced, backing
// off while opens are refused), and each second it counts what it holds
// (see ExhaustSeries). It checks the file-descriptor limit first and opens
// nothing if the count does not fit.
type Exhaust struct {
	Count    int            `yaml:"count" json:"count" jsonschema:"description=connections to hold,default=100,minimum=1,maximum=100000"`
	Mode     string         `yaml:"mode,omitempty" json:"mode,omitempty" jsonschema:"enum=idle,enum=slowloris,default=idle"`
	Interval units.Duration `yaml:"interval,omitempty" json:"interval,omitempty" jsonschema:"description=slowloris: one more header line per connection this often,default=2s"`
	Addr     string         `yaml:"addr,omitempty" json:"addr,omitempty" jsonschema:"description=host:port to exhaust instead of the target's own address"`

	changes faults.Changes
	mu      sync.Mutex
	holds   []*hold // one per target address
}

var _ faults.Fault = (*Exhaust)(nil)

// NewExhaust is an exhaust fault with its defaults: 100 idle connections.
func NewExhaust() *Exhaust {
	return &Exhaust{Count: 100, Mode: "idle", Interval: units.Duration(2 * time.Second)}
}

// Validate implements Fault.
func (f *Exhaust) Validate() []units.Problem {
	var ps []units.Problem
	if f.Count < 1 || f.Count > 100000 {
		ps = append(ps, units.Problemf("count", "%d is out of range (valid: 1 to 100000, and within the file-descriptor limit)", f.Count))
	}
	if f.Mode != "idle" && f.Mode != "slowloris" {
		ps = append(ps, units.Problemf("mode", "%q is not valid (valid: idle, slowloris)", f.Mode))
	}
	if f.Mode == "slowloris" && f.Interval <= 0 {
		ps = append(ps, units.Problemf("interval", "must be more than 0 (valid: e.g. 2s)"))
	}
	if f.Addr != "" {
		if _, _, err := net.SplitHostPort(f.Addr); err != nil {
			ps = append(ps, units.Problemf("addr", "%q is not host:port", f.Addr))
		}
	}
	return ps
}

// fdRoom is how many more files this process may open, with some margin.
func fdRoom() (int, error) {
	limit, err := osproc.OpenFileLimit()
	if err != nil {
		return 0, err
	}
	open := 0
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(ents)
	}
	return limit - open - 256, nil
}

// addrOf is the host:port an exhaust fault hits on target t.
func (f *Exhaust) addrOf(addr, rawURL string) string {
	if f.Addr != "" {
		return f.Addr
	}
	if addr != "" {
		return addr
	}
	if u, err := url.Parse(rawURL); err == nil && u.Host != "" {
		if u.Port() == "" {
			return net.JoinHostPort(u.Hostname(), map[bool]string{true: "443", false: "80"}[u.Scheme == "https"])
		}
		return u.Host
	}
	return ""
}

// Inject implements Fault: it opens the connections of every target, then
// keeps them open until rollback (see hold).
func (f *Exhaust) Inject(ctx context.Context, env faults.Env) error {
	room, err := fdRoom()
	if err == nil && f.Count*len(env.Targets) > room {
		return fmt.Errorf("exhaust fault: %d connections do not fit the file-descriptor limit (room for %d; raise it with ulimit -n)", f.Count*len(env.Targets), room)
	}
	for _, t := range env.Targets {
		addr := f.addrOf(t.Addr, t.URL)
		if addr == "" {
			return fmt.Errorf("exhaust fault: target %s has no address (valid: a stack service, a url target, or params.addr)", t.Name)
		}
		h := newHold(addr, f.Count, f.Mode, f.Interval.D(), env.Log)
		f.mu.Lock()
		f.holds = append(f.holds, h)
		f.mu.Unlock()
		var n int
		var lastErr error
		ch := faults.Change{Target: t.Name, Action: "in-process", Data: map[string]any{"exhaust": addr, "count": f.Count}, Undo: h.close, Owned: true}
		if err := f.changes.Apply(env, ch, func() error {
			if n, lastErr = h.fill(ctx); n == 0 {
				return fmt.Errorf("exhaust fault on %s: no connection opened: %w", addr, lastErr)
			}
			h.start()
			return nil
		}); err != nil {
			return err
		}
		if n < f.Count {
			fmt.Fprintf(env.Log, "  exhaust %s: holding %d of %d connections (%v); opening the rest until rollback\n", addr, n, f.Count, lastErr)
		} else {
			fmt.Fprintf(env.Log, "  exhaust %s: holding %d %s connections\n", addr, n, f.Mode)
		}
	}
	return nil
}

// Rollback implements Fault: it closes every held connection and writes one
// summary line per address.
func (f *Exhaust) Rollback(ctx context.Context) error { return f.changes.Rollback(ctx) }
