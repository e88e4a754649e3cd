package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
)

// FollowEvery is how often a fault whose peers name Kubernetes objects
// (service/NAME, deployment/NAME …) resolves them again while it is on: a
// peer pod that restarted elsewhere has a new address, which the rules the
// agent holds would not cover.
var FollowEvery = 2 * time.Second

// placed is one target's fault as an agent holds it now.
type placed struct {
	t     target
	env   faults.Env
	id    string // the agent's fault id
	entry int    // its journal entry
}

// namesPeers says whether the kind's parameters name any peer by a
// Kubernetes object or host name (not an address or CIDR), which may
// resolve to other addresses later.
func namesPeers(f faults.Fault) bool {
	b, err := json.Marshal(f)
	if err != nil {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	for _, field := range peerFields {
		var peers []string
		_ = json.Unmarshal(m[field], &peers)
		for _, p := range peers {
			p = strings.TrimSpace(p)
			if _, err := netip.ParsePrefix(p); err == nil {
				continue
			}
			if _, err := netip.ParseAddr(p); err == nil {
				continue
			}
			return true
		}
	}
	return false
}

// follow resolves the peers of every placed fault again and, for a pod
// whose peers now have other addresses, asks its agent for the fault with
// the new ones (journaled first, as any change) before it deletes the old
// one: the fault never lapses (for the moment both are on, a packet both
// match gets both). A peer that resolves to nothing now (a workload
// between pods) leaves the fault as it is.
func (f *Fault) follow(ctx context.Context, log io.Writer) {
	f.mu.Lock()
	ps := slices.Clone(f.placed)
	f.mu.Unlock()
	fresh := map[string]json.RawMessage{} // by API server and namespace; nil: not resolved now
	for _, p := range ps {
		key := p.t.agent.Server + " " + p.t.pod.Namespace
		params, ok := fresh[key]
		if !ok {
			cs, err := podproxy.Client(p.t.agent.Cluster)
			if err == nil {
				params, err = paramsFor(ctx, cs, p.t.pod.Namespace, f.inner)
			}
			if err != nil && ctx.Err() == nil {
				// a workload between pods, or the API for a moment: not a failure
				f.warnOnce(log, fmt.Sprintf("  %s: peers not resolved again (%v); the fault keeps the addresses it has\n", f.kind, err))
			}
			fresh[key] = params
		}
		if params == nil || bytes.Equal(params, p.t.params) || ctx.Err() != nil {
			continue
		}
		next := p.t
		next.params = params
		np, err := f.apply(ctx, p.env, next, &sync.Map{})
		if err != nil {
			f.warnOnce(log, fmt.Sprintf("  warning: %s on pod %s: its peers moved, but the fault with their new addresses was not applied (%v); the old one stays\n", f.kind, p.t.pod, err))
			continue
		}
		fmt.Fprintf(log, "  %s on pod %s: peers now %s (fault %s replaces %s)\n", f.kind, p.t.pod, peerList(params), np.id, p.id)
		if err := f.changes.UndoEntry(ctx, p.entry); err != nil {
			fmt.Fprintf(log, "  warning: %s on pod %s: the fault with the old addresses was not deleted (%v); the rollback tries again\n", f.kind, p.t.pod, err)
		}
		f.mu.Lock()
		if i := slices.Index(f.placed, p); i >= 0 {
			f.placed = slices.Delete(f.placed, i, i+1)
		}
		f.mu.Unlock()
	}
}

// warnOnce writes a warning unless it is the last one written.
func (f *Fault) warnOnce(log io.Writer, w string) {
	f.mu.Lock()
	same := f.lastWarn == w
	f.lastWarn = w
	f.mu.Unlock()
	if !same {
		fmt.Fprint(log, w)
	}
}

// peerList is the resolved peers of params, for the log.
func peerList(params json.RawMessage) string {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(params, &m)
	var all []string
	for _, field := range peerFields {
		var peers []string
		_ = json.Unmarshal(m[field], &peers)
		all = append(all, peers...)
	}
	return strings.Join(first(all, 8), ", ")
}
