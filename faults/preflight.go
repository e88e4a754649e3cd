package faults

import (
	"context"
	"fmt"

	"github.com/chaos-sre/chaos/faults/targets"
)

// Preflighter is a fault kind that checks, before anything is injected,
// that it can run on its targets (a capability, a privilege).
type Preflighter interface {
	Preflight(ctx context.Context, targets []targets.Target) error
}

// Availabler is a fault kind whose mechanism only some operating systems
// have (network namespaces, process signals). Available says why it cannot
// run on this one, nil when it can; Preflight asks it first, so a run stops
// before anything is injected.
type Availabler interface {
	Available() error
}

// checker is a proxy that can say whether it is reachable (a `chaos proxy`
// behind its control API).
type checker interface {
	Check(ctx context.Context) error
}

// Preflight checks that f's mechanism exists on this OS, runs f's own
// preflight, if it has one, and checks that every remote proxy in front of
// its targets answers. An error means the tool cannot inject (exit 4).
func Preflight(ctx context.Context, kind string, f Fault, targets []targets.Target) error {
	if a, ok := f.(Availabler); ok {
		if err := a.Available(); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	if p, ok := f.(Preflighter); ok {
		if err := p.Preflight(ctx, targets); err != nil {
			return fmt.Errorf("%s: %w", kind, err)
		}
	}
	for _, t := range targets {
		if c, ok := t.Proxy.(checker); ok {
			if err := c.Check(ctx); err != nil {
				return fmt.Errorf("%s on %s: %w", kind, t.Name, err)
			}
		}
	}
	return nil
}
