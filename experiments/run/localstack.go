package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/faults/targets"
)

// Stacks starts the local stacks that experiments ask for with stack.local.
// The engine knows no stack of its own: cmd/chaos plugs in the example
// inference stack (examples/stack) through Options.Stacks, a test may plug
// in a fake.
type Stacks interface {
	// Start starts the stack spec describes and returns once every process
	// is healthy; on failure it stops what it started. Cancelling ctx stops
	// the stack.
	Start(ctx context.Context, spec StackSpec) (LocalStack, error)
	// Variants names the gateway variants Start accepts in spec.Variant,
	// for validation and the JSON Schema (experiments.Registry.Variants).
	Variants() []string
}

// StackSpec is what an experiment's stack.local asks for (its variant
// replaced by Options.Variant when set), and where the engine steps in.
type StackSpec struct {
	experiments.LocalStack
	// Log receives the processes' own output; never nil.
	Log io.Writer
	// Interpose is called for each backend process once it is healthy, with
	// its name and address; it returns the address the rest of the stack
	// must dial instead (the engine's fault proxy in front of it).
	Interpose func(name, addr string) (string, error)
}

// LocalStack is a running local stack.
type LocalStack interface {
	// Vars are the ${var}s the stack defines (e.g. ${gateway}, one per
	// process); they win over stack.vars.
	Vars() map[string]string
	// Processes are the processes faults may target.
	Processes() []StackProcess
	// Stop stops every process. It is idempotent.
	Stop() error
}

// StackProcess is one process of a local stack.
type StackProcess struct {
	Name    string                          // unique in the stack, e.g. model-primary-0
	Service string                          // what a target's service: names, e.g. model-primary
	Addr    string                          // host:port it listens on
	Pid     func() int                      // its process id now (it changes on restart); 0 when not running
	Restart func(ctx context.Context) error // start it again on the same Addr
}

// errNoStacks is a stack.local experiment run by a program that plugged in
// no Stacks: a missing capability, found at preflight.
var errNoStacks = errors.New("stack.local: this program has no local stack to start (valid: stack.compose or stack.vars for a stack that is already running)")

// startLocal starts the local stack through o.Stacks with a fault proxy in
// front of every backend process, and fills w and static with what it
// started.
func (w *world) startLocal(ctx context.Context, local *experiments.LocalStack, runID string, o Options, static *targets.Static) error {
	if o.Stacks == nil {
		return toolErr(errNoStacks)
	}
	spec := StackSpec{LocalStack: *local, Log: o.StackLog}
	if o.Variant != nil {
		spec.Variant = o.Variant
	}
	if spec.Log == nil {
		spec.Log = io.Discard
	}
	if valid := o.Stacks.Variants(); len(valid) > 0 {
		for i, v := range spec.Variant {
			if !slices.Contains(valid, v) {
				return invalid("stack.local.variant[%d]: unknown variant %q (valid: %s)", i, v, strings.Join(valid, ", "))
			}
		}
	}
	routes := map[string]*proxy.Route{}
	closeRoutes := func() {
		for _, r := range routes {
			_ = r.Close()
		}
	}
	spec.Interpose = func(name, addr string) (string, error) {
		r, err := proxy.Listen(runID+"/"+name, "127.0.0.1:0", addr)
		if err != nil {
			return "", err
		}
		routes[name] = r
		return r.Addr(), nil
	}
	st, err := o.Stacks.Start(ctx, spec)
	if err != nil {
		closeRoutes()
		return toolErr(fmt.Errorf("start the local stack: %w", err))
	}
	w.close = func() error {
		err := st.Stop()
		closeRoutes()
		return err
	}
	maps.Copy(w.vars, st.Vars())
	for _, p := range st.Processes() {
		w.procs[p.Name] = p
		t := targets.Target{Name: p.Name, Service: p.Service, Pid: p.Pid(), Addr: p.Addr, Restart: p.Restart}
		if r, ok := routes[p.Name]; ok {
			t.Proxy = r
			w.started = append(w.started, fmt.Sprintf("%s %s (pid %d) behind proxy %s", p.Name, p.Addr, p.Pid(), r.Addr()))
		} else {
			w.started = append(w.started, fmt.Sprintf("%s %s (pid %d)", p.Name, p.Addr, p.Pid()))
		}
		static.Known = append(static.Known, t)
	}
	return nil
}
