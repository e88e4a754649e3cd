package faults

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Mechanismer is a fault that says how it was brought in, once its
// Preflight or Inject chose (netem, an NFQUEUE delayer, a qdisc …): the
// run report shows it per fault.
type Mechanismer interface {
	Mechanism() string
}

// NetScope says which packets of the target's network namespace a network
// fault touches; every net-* kind, partition and dns embed it.
type NetScope struct {
	Direction string   `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=egress,enum=ingress,enum=both,description=packets leaving the target (egress) or arriving (ingress),default=egress"`
	Peers     []string `yaml:"peers,omitempty" json:"peers,omitempty" jsonschema:"description=only traffic to/from these peers: compose services (resolved in the target's namespace to every replica's address) or host names or IPv4 addresses or CIDRs; default every peer"`
	Port      int      `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"description=only packets from or to this port (e.g. the model server's 8000),minimum=1,maximum=65535"`
	Protocol  string   `yaml:"protocol,omitempty" json:"protocol,omitempty" jsonschema:"enum=tcp,enum=udp,description=only this protocol; default every protocol (tcp and udp when port is set)"`
	AllowHost bool     `yaml:"allow_host,omitempty" json:"allow_host,omitempty" jsonschema:"description=allow a target that runs in the host's network namespace (a local process); off by default so a fault never hits the host by mistake"`
}

func (s NetScope) validate() []units.Problem {
	var ps []units.Problem
	switch s.Direction {
	case "", "egress", "ingress", "both":
	default:
		ps = append(ps, units.Problemf("direction", "unknown direction %q (valid: egress, ingress, both)", s.Direction))
	}
	if s.Port < 0 || s.Port > 65535 {
		ps = append(ps, units.Problemf("port", "%d is not a port (valid: 1 to 65535)", s.Port))
	}
	switch s.Protocol {
	case "", "tcp", "udp":
	default:
		ps = append(ps, units.Problemf("protocol", "unknown protocol %q (valid: tcp, udp)", s.Protocol))
	}
	for i, p := range s.Peers {
		if strings.TrimSpace(p) == "" {
			ps = append(ps, units.Problemf("peers["+strconv.Itoa(i)+"]", "empty peer (valid: a compose service, host name, IPv4 address or CIDR)"))
		}
	}
	return ps
}

// scoped reports whether the scope narrows the fault below "every packet
// leaving the target" (which a root qdisc can serve).
func (s NetScope) scoped() bool {
	return len(s.Peers) > 0 || s.Port != 0 || s.Protocol != "" || (s.Direction != "" && s.Direction != "egress")
}

// netTarget is one target's namespace with its peers resolved.
type netTarget struct {
	t     targets.Target
	ns    *network.NS
	scope network.Scope
}

// openNetTargets opens every target's network namespace and resolves the
// scope's peers in it. Nothing is changed; on error every handle is closed.
func openNetTargets(ctx context.Context, kind string, s NetScope, ts []targets.Target) ([]netTarget, error) {
	if !network.HasNetAdmin() {
		return nil, fmt.Errorf("%s needs CAP_NET_ADMIN (run chaos as root, or give it the capability: setcap cap_net_admin,cap_sys_admin+ep)", kind)
	}
	var out []netTarget
	closeAll := func() {
		for _, n := range out {
			n.ns.Close()
		}
	}
	for _, t := range ts {
		ns, err := targetNS(ctx, t, s.AllowHost)
		if err != nil {
			closeAll()
			return nil, err
		}
		sc := network.Scope{Egress: s.Direction != "ingress", Ingress: s.Direction == "ingress" || s.Direction == "both", Port: uint16(s.Port)}
		switch s.Protocol {
		case "tcp":
			sc.Proto = unix.IPPROTO_TCP
		case "udp":
			sc.Proto = unix.IPPROTO_UDP
		}
		if len(s.Peers) > 0 {
			if sc.Nets, err = network.ResolvePeers(ctx, ns, s.Peers); err != nil {
				ns.Close()
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
		}
		out = append(out, netTarget{t: t, ns: ns, scope: sc})
	}
	return out, nil
}

// targetNS opens the network namespace of a container (through its pid
// from the Docker API) or of a process, refusing the host's unless allowed:
// that refusal matches targets.ErrRefused, an invalid experiment (exit 2).
func targetNS(ctx context.Context, t targets.Target, allowHost bool) (*network.NS, error) {
	pid := t.Pid
	if t.Container != "" {
		api, err := Docker()
		if err != nil {
			return nil, err
		}
		c, err := api.ContainerInspect(ctx, t.Container)
		if err != nil {
			return nil, fmt.Errorf("target %s: inspect container: %w", t.Name, targets.DockerError(err))
		}
		if c.State == nil || !c.State.Running || c.State.Pid == 0 {
			return nil, fmt.Errorf("target %s: the container is not running, so it has no network namespace to enter", t.Name)
		}
		if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() && !allowHost {
			return nil, targets.Refusef("target %s: the container uses the host's network (network_mode: host); refusing to change the host's network (valid: a container with its own network, or params allow_host: true)", t.Name)
		}
		pid = c.State.Pid
	}
	if pid <= 0 {
		return nil, fmt.Errorf("target %s has no process or container, so no network namespace (valid: a compose service, container, labels, process or pid target)", t.Name)
	}
	ns, err := network.OpenPid(pid)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	if ns.IsHost() && !allowHost {
		ns.Close()
		return nil, targets.Refusef("target %s (pid %d) runs in the host's network namespace; refusing to change the host's network (valid: a process in its own network namespace such as a container's, or params allow_host: true)", t.Name, pid)
	}
	return ns, nil
}

// netFault is embedded by the network kinds: the changes it journaled, the
// queues it runs, and the mechanism it chose.
type netFault struct {
	changes
	mu   sync.Mutex
	mech string
	open []*network.NS // namespaces the undo closures use, closed after rollback
}

// rollbackNet undoes every change, then closes the namespaces they were in.
func (n *netFault) rollbackNet(ctx context.Context) error {
	err := n.rollback(ctx)
	n.mu.Lock()
	open := n.open
	n.open = nil
	n.mu.Unlock()
	for _, ns := range open {
		ns.Close()
	}
	return err
}

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

// nsRef is the journal data of a change in a network namespace: enough for
// `chaos recover` to find the namespace again (pid, else its inode).
type nsRef struct {
	Pid   int    `json:"pid"`
	Inode uint64 `json:"netns_inode"`
	Table string `json:"table,omitempty"`
	Link  string `json:"link,omitempty"`
}

var tableSeq atomic.Int64

// tableName tags a table with the run id: chaos-RUN-N.
func tableName(env Env) string {
	return network.TablePrefix + env.Journal.Run() + "-" + strconv.FormatInt(tableSeq.Add(1), 10)
}

// addRules journals, then adds, one nftables table of rules in t's
// namespace; q (may be nil) is the queue the rules feed, closed after the
// table is gone.
func (n *netFault) addRules(env Env, t netTarget, rules []network.Rule, q *network.Queue) error {
	ref := nsRef{Pid: t.ns.Pid, Inode: t.ns.Inode, Table: tableName(env)}
	ns := t.ns
	undo := func(context.Context) error {
		err := network.DelTable(ns, ref.Table)
		if q != nil && err == nil {
			err = q.Close()
		}
		return err
	}
	ch := change{target: t.t.Name, key: netnsKey(t.ns.Inode), action: "nft-table", data: ref, undo: undo, owned: true}
	return n.apply(env, ch, func() error {
		return network.AddTable(ns, ref.Table, "chaos run "+env.Journal.Run()+" fault "+env.Fault, rules)
	})
}

// addQdisc journals, then adds, a root qdisc on one link of t's namespace.
func (n *netFault) addQdisc(env Env, t netTarget, link string, q any) error {
	ref := nsRef{Pid: t.ns.Pid, Inode: t.ns.Inode, Link: link}
	ns := t.ns
	undo := func(context.Context) error { return network.DelRootQdisc(ns, link) }
	ch := change{target: t.t.Name, key: netnsKey(t.ns.Inode), action: "tc-qdisc", data: ref, undo: undo}
	return n.apply(env, ch, func() error { return network.AddRootQdisc(ns, link, q) })
}

// queueRules opens an NFQUEUE consumer with shape in t's namespace and adds
// the rules that feed it.
func (n *netFault) queueRules(env Env, t netTarget, shape network.Shape) (*network.Queue, error) {
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

// inject opens the targets and applies one change set to each; on error the
// engine's rollback undoes what was journaled.
func (n *netFault) inject(ctx context.Context, env Env, kind string, s NetScope, apply func(t netTarget) error) error {
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

// nfqueueWhy says why the userspace path serves a fault.
func nfqueueWhy(scoped bool) string {
	ok, why := network.NetemAvailable()
	if !ok {
		return why
	}
	if scoped {
		return "the fault is scoped to peers, a port or ingress, which a root netem qdisc cannot be"
	}
	return "netem was not chosen"
}

const nfqueueMech = "NFQUEUE userspace shaper in the chaos process (nftables rule in the target's network namespace, fail-open)"

func undoTable(_ context.Context, e journal.Entry) error {
	ref, err := decode[nsRef](e)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ref.Table, network.TablePrefix+e.Run+"-") {
		return &NotSameError{What: "nftables table " + ref.Table, Why: "its name is not one run " + e.Run + " makes (" + network.TablePrefix + e.Run + "-N)"}
	}
	if e.Key != netnsKey(ref.Inode) {
		return &NotSameError{What: fmt.Sprintf("network namespace %d", ref.Inode), Why: "the entry's lease key is " + e.Key}
	}
	ns, ok, err := network.Find(ref.Pid, ref.Inode)
	if err != nil || !ok {
		return err // the namespace is gone, and the table with it
	}
	defer ns.Close()
	return network.DelTable(ns, ref.Table)
}

func undoQdisc(_ context.Context, e journal.Entry) error {
	ref, err := decode[nsRef](e)
	if err != nil {
		return err
	}
	if e.Key != netnsKey(ref.Inode) {
		return &NotSameError{What: fmt.Sprintf("network namespace %d", ref.Inode), Why: "the entry's lease key is " + e.Key}
	}
	ns, ok, err := network.Find(ref.Pid, ref.Inode)
	if err != nil || !ok {
		return err
	}
	defer ns.Close()
	return network.DelRootQdisc(ns, ref.Link)
}
