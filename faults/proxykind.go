package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/internal/units"
)

// Proxy is a proxy fault kind (faults/proxy) as a Fault. Params is the
// kind's own struct (a pointer to it): experiments decode into it, `chaos
// schema` and `chaos faults` describe it (see ParamsOf), and Inject sends it
// as JSON to the proxy route in front of each target — in this process, or
// a `chaos proxy` through its control API — journaling each before it is
// added; Rollback removes them.
type Proxy struct {
	Params  proxy.Params
	kind    string
	changes Changes
}

var _ interface {
	Fault
	ParamsHolder
} = (*Proxy)(nil)

// ParamsHolder is a Fault whose parameters are another value, a pointer to
// a struct: the decoder, the JSON Schema and `chaos faults` read that value.
type ParamsHolder interface{ ParamsValue() any }

// ParamsOf is the value that holds f's parameters: f itself, or what it
// holds.
func ParamsOf(f any) any {
	if h, ok := f.(ParamsHolder); ok {
		return h.ParamsValue()
	}
	return f
}

// ProxyKinds adapts every proxy fault kind of list, by name: the registry
// (faults/kinds) takes the proxy family's list whole.
func ProxyKinds(list []proxy.KindInfo) map[string]Kind {
	m := make(map[string]Kind, len(list))
	for _, k := range list {
		m[k.KindName()] = Kind{
			Summary: k.KindSummary(),
			Targets: []string{TargetProxy},
			New:     func() Fault { return &Proxy{Params: k.Defaults(), kind: k.KindName()} },
		}
	}
	return m
}

// ParamsValue implements ParamsHolder.
func (f *Proxy) ParamsValue() any { return f.Params }

// Validate implements Fault.
func (f *Proxy) Validate() []units.Problem { return f.Params.Validate() }

// Inject implements Fault.
func (f *Proxy) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &f.changes, f.kind, f.Params)
}

// Rollback implements Fault.
func (f *Proxy) Rollback(ctx context.Context) error { return f.changes.Rollback(ctx) }

// remoteRoute is a proxy route in another process (`chaos proxy`), driven
// through its control API: the fault id is chosen before the change so the
// journal names it and `chaos recover` can remove it from another process.
type remoteRoute interface {
	AddID(id string, f any) (string, error)
	Journal(id string) map[string]string
}

// addProxySpec installs the proxy fault kind with params (marshalled to
// JSON, the proxy's own format) on the route in front of each target,
// journaling each before it is added.
func addProxySpec(env Env, c *Changes, kind string, params any) error {
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("%s fault: %w", kind, err)
	}
	return addProxyFault(env, c, kind, func() any {
		return proxy.Spec{Kind: kind, Params: raw, Seed: env.Rand.Uint64()}
	})
}

// addProxyFault installs one proxy fault on the route in front of each
// target, journaling each before it is added.
func addProxyFault(env Env, c *Changes, kind string, build func() any) error {
	for _, t := range env.Targets {
		if t.Proxy == nil {
			return fmt.Errorf("%s fault: target %s has no fault proxy in front of it (the local stack puts one before every model; for other stacks run `chaos proxy` and use target: {proxy: ROUTE, api: URL})", kind, t.Name)
		}
		route := t.Proxy
		if rr, ok := route.(remoteRoute); ok {
			id := proxyFaultID(env, time.Now().UnixNano())
			d := rr.Journal(id)
			undo := func(context.Context) error { return route.Remove(id) }
			ch := Change{Target: t.Name, Key: ProxyKey(d["api"], d["route"]), Action: "proxy-api", Data: d, Undo: undo, Owned: true}
			if err := c.Apply(env, ch, func() error { _, err := rr.AddID(id, build()); return err }); err != nil {
				return fmt.Errorf("%s fault on %s: %w", kind, t.Name, err)
			}
			fmt.Fprintf(env.Log, "  %s on proxy %s (fault %s)\n", kind, route.Name(), id)
			continue
		}
		var id string
		undo := func(context.Context) error {
			if id == "" {
				return nil
			}
			return route.Remove(id)
		}
		ch := Change{Target: t.Name, Action: "in-process", Data: map[string]string{"proxy": route.Name(), "fault": kind}, Undo: undo, Owned: true}
		if err := c.Apply(env, ch, func() (err error) { id, err = route.Add(build()); return err }); err != nil {
			return fmt.Errorf("%s fault on %s: %w", kind, t.Name, err)
		}
		fmt.Fprintf(env.Log, "  %s on proxy %s\n", kind, route.Name())
	}
	return nil
}

// undoProxyAPI removes a fault from a `chaos proxy` through its control
// API, from the journal alone (chaos recover). A fault or route already gone
// is success; a proxy that cannot be reached is an error, so the entry stays.
func undoProxyAPI(ctx context.Context, e journal.Entry) error {
	d, err := Decode[map[string]string](e)
	if err != nil {
		return err
	}
	// Only token_env is read: a token itself is never journaled (an old
	// journal's "token" field is ignored; export its variable instead).
	var token string
	if env := d["token_env"]; env != "" {
		token = os.Getenv(env)
	}
	c := proxy.NewClient(d["api"], d["route"], token)
	err = c.RemoveContext(ctx, d["id"])
	if proxy.IsNotFound(err) {
		return nil
	}
	return err
}

// proxyFaultID names a fault in a `chaos proxy` after its run, so an undo
// from a journal can only ever remove a fault its own run added.
func proxyFaultID(env Env, n int64) string {
	return fmt.Sprintf("chaos-%s-%d", env.Journal.Run(), n)
}

// ownProxyFault guards the offline undo of a proxy fault: the fault id must
// be one the entry's run made, on the route it leased.
func ownProxyFault(undo func(context.Context, journal.Entry) error) func(context.Context, journal.Entry) error {
	return func(ctx context.Context, e journal.Entry) error {
		d, err := Decode[map[string]string](e)
		if err != nil {
			return err
		}
		if !strings.HasPrefix(d["id"], "chaos-"+e.Run+"-") {
			return &NotSameError{What: "proxy fault " + d["id"], Why: "its id is not one run " + e.Run + " makes"}
		}
		if e.Key != ProxyKey(d["api"], d["route"]) {
			return &NotSameError{What: "proxy route " + d["route"] + " at " + d["api"], Why: "the entry's lease key is " + e.Key}
		}
		return undo(ctx, e)
	}
}
