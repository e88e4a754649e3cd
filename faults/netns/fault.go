package netns

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
)

// netFault is embedded by the network kinds: the changes it journaled, the
// queues it runs, and the mechanism it chose.
type netFault struct {
	changes faults.Changes
	mu      sync.Mutex
	mech    string
	open    []*network.NS // namespaces the undo closures use, closed after rollback
}

// rollbackNet undoes every change, then closes the namespaces they were in.
func (n *netFault) rollbackNet(ctx context.Context) error {
	err := n.changes.Rollback(ctx)
	n.mu.Lock()
	open := n.open
	n.open = nil
	n.mu.Unlock()
	for _, ns := range open {
		ns.Close()
	}
	return err
}

// Available implements faults.Availabler: network namespaces, nftables and
// qdiscs are Linux's.
func (n *netFault) Available() error { return network.Available() }

// Mechanism implements Mechanismer.
func (n *netFault) Mechanism() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mech
}

func (n *netFault) setMechanism(m string) {
	n.mu.Lock()
	n.mech = m
	n.mu.Unlock()
}

// preflight opens and closes every target's namespace: capability, a
// namespace to enter, not the host's, peers that resolve.
func (n *netFault) preflight(ctx context.Context, kind string, s NetScope, ts []targets.Target) error {
	nts, err := openNetTargets(ctx, kind, s, ts)
	for _, t := range nts {
		t.ns.Close()
	}
	return err
}

// inject opens the targets and applies one change set to each; on error the
// engine's rollback undoes what was journaled.
func (n *netFault) inject(ctx context.Context, env faults.Env, kind string, s NetScope, apply func(t netTarget) error) error {
	if env.Journal == nil {
		return errors.New("no journal: refusing to make an unjournaled change")
	}
	nts, err := openNetTargets(ctx, kind, s, env.Targets)
	if err != nil {
		return err
	}
	n.mu.Lock()
	for _, t := range nts {
		n.open = append(n.open, t.ns)
	}
	n.mu.Unlock()
	for _, t := range nts {
		if err := apply(t); err != nil {
			return err
		}
		fmt.Fprintf(env.Log, "  %s on %s (%s) via %s\n", kind, t.t.Name, t.ns, n.Mechanism())
	}
	return nil
}
