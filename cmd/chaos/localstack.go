package main

import (
	"context"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/stack"
	"github.com/chaos-sre/chaos/experiments"
	runpkg "github.com/chaos-sre/chaos/experiments/run"
)

// stacks is what chaos plugs into the engine for stack.local: the example
// inference stack, run as local processes that re-execute this binary (main
// calls stack.MaybeRunRole first). Its gateway variants are the ones the
// command line, the validator and the JSON Schema accept.
var stacks runpkg.Stacks = exampleStack{}

// registry is every fault and check kind, vars (from --var) and the
// variants of the plugged-in stack: what every command parses with.
func registry(vars map[string]string) experiments.Registry {
	reg := experiments.DefaultRegistry()
	reg.Vars = vars
	reg.Variants = stacks.Variants()
	return reg
}

// exampleStack starts examples/stack for the engine.
type exampleStack struct{}

var _ runpkg.Stacks = exampleStack{}

func (exampleStack) Variants() []string { return gateway.Variants() }

func (exampleStack) Start(ctx context.Context, spec runpkg.StackSpec) (runpkg.LocalStack, error) {
	o := stack.Options{
		Primaries: spec.Primaries, Variant: spec.Variant, Log: spec.Log,
		GatewayArgs: spec.Gateway, PrimaryArgs: spec.Primary, FallbackArgs: spec.Fallback,
	}
	if spec.Interpose != nil {
		o.Interpose = func(p *stack.Proc) (string, error) { return spec.Interpose(p.Name, p.Addr) }
	}
	st, err := stack.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	return runningStack{st}, nil
}

// runningStack is a started example stack; Stop comes from *stack.Stack.
type runningStack struct{ *stack.Stack }

// Vars are ${gateway} and one per process (${model-primary-0} …), each its
// http:// URL.
func (s runningStack) Vars() map[string]string {
	vars := map[string]string{"gateway": s.Gateway.URL()}
	for _, p := range s.Procs {
		vars[p.Name] = p.URL()
	}
	return vars
}

func (s runningStack) Processes() []runpkg.StackProcess {
	out := make([]runpkg.StackProcess, len(s.Procs))
	for i, p := range s.Procs {
		out[i] = runpkg.StackProcess{Name: p.Name, Service: p.Service, Addr: p.Addr, Pid: p.Pid,
			Restart: func(ctx context.Context) error { return s.Restart(ctx, p) }}
	}
	return out
}
