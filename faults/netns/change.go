package netns

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
)

// nsRef is the journal data of a change in a network namespace: enough for
// `chaos recover` to find the namespace again (pid, else its inode), and
// its cookie to tell it from a later namespace given the same inode.
type nsRef struct {
	Pid    int    `json:"pid"`
	Inode  uint64 `json:"netns_inode"`
	Cookie uint64 `json:"netns_cookie,omitempty"`
	Table  string `json:"table,omitempty"`
	Link   string `json:"link,omitempty"`
}

var tableSeq atomic.Int64

// tableName tags a table with the run id: chaos-RUN-N.
func tableName(env faults.Env) string {
	return network.TablePrefix + env.Journal.Run() + "-" + strconv.FormatInt(tableSeq.Add(1), 10)
}

// addRules journals, then adds, one nftables table of rules in t's
// namespace; q (may be nil) is the queue the rules feed, closed after the
// table is gone.
func (n *netFault) addRules(env faults.Env, t netTarget, rules []network.Rule, q *network.Queue) error {
	ref := nsRef{Pid: t.ns.Pid, Inode: t.ns.Inode, Cookie: t.ns.Cookie(), Table: tableName(env)}
	ns := t.ns
	undo := func(context.Context) error {
		err := network.DelTable(ns, ref.Table)
		if q != nil && err == nil {
			err = q.Close()
		}
		return err
	}
	ch := faults.Change{Target: t.t.Name, Key: faults.NetnsKey(t.ns.Inode), Action: "nft-table", Data: ref, Undo: undo, Owned: true}
	return n.changes.Apply(env, ch, func() error {
		return network.AddTable(ns, ref.Table, "chaos run "+env.Journal.Run()+" fault "+env.Fault, rules)
	})
}

// addQdisc journals, then adds, a root qdisc on one link of t's namespace.
func (n *netFault) addQdisc(env faults.Env, t netTarget, link string, q any) error {
	ref := nsRef{Pid: t.ns.Pid, Inode: t.ns.Inode, Cookie: t.ns.Cookie(), Link: link}
	ns := t.ns
	undo := func(context.Context) error { return network.DelRootQdisc(ns, link) }
	ch := faults.Change{Target: t.t.Name, Key: faults.NetnsKey(t.ns.Inode), Action: "tc-qdisc", Data: ref, Undo: undo}
	return n.changes.Apply(env, ch, func() error { return network.AddRootQdisc(ns, link, q) })
}

// queueRules opens an NFQUEUE consumer with shape in t's namespace and adds
// the rules that feed it.
func (n *netFault) queueRules(env faults.Env, t netTarget, shape network.Shape) (*network.Queue, error) {
	shape.Seed = env.Rand.Uint64()
	q, err := network.OpenQueue(t.ns, shape, 0)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.t.Name, err)
	}
	if err := n.addRules(env, t, t.scope.Rules(network.Verdict{Kind: "queue", Queue: q.Num}), q); err != nil {
		_ = q.Close()
		return nil, fmt.Errorf("target %s: %w", t.t.Name, err)
	}
	return q, nil
}

// netemOnLinks adds q as the root qdisc of every interface of t but lo.
func netemOnLinks(n *netFault, env faults.Env, t netTarget, q *network.Netem) error {
	links, err := network.Links(t.ns, "")
	if err != nil {
		return err
	}
	for _, link := range links {
		if err := n.addQdisc(env, t, link, q); err != nil {
			return fmt.Errorf("target %s: %w", t.t.Name, err)
		}
	}
	return nil
}
