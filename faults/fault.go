// Package faults defines what a fault is, the registry of fault kinds, and the
// undo actions that both rollback and `chaos recover` run from the journal.
package faults

import (
	"context"
	"io"
	"math/rand/v2"
	"time"

	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// Fault is one kind's parameters and behaviour. The experiment decoder fills the
// value returned by Kind.New from the YAML `params:` mapping (yaml tags), then
// calls Validate; the engine calls Inject once and Rollback on every exit path.
type Fault interface {
	// Validate reports parameter problems (ranges, combinations) with field
	// names relative to `params`.
	Validate() []units.Problem
	// Inject applies the fault to the resolved targets. Every change is
	// recorded in env.Journal before it is made.
	Inject(ctx context.Context, env Env) error
	// Rollback undoes what Inject did; it is idempotent and treats "already
	// gone" as success.
	Rollback(ctx context.Context) error
}

// Env is what a fault gets to work with when it is injected.
type Env struct {
	Fault   string           // the experiment's name for this fault
	Targets []targets.Target // resolved and picked targets
	Journal *journal.Journal // write-ahead journal of this run
	Rand    *rand.Rand       // seeded; every random choice goes through it
	Log     io.Writer        // progress (stderr)
	For     time.Duration    // how long the fault stays on
}

// Kind describes one fault kind for the registry.
type Kind struct {
	Summary string
	// Targets says what the kind can hit: "process", "proxy", "url".
	Targets []string
	New     func() Fault
}

// Mechanismer is a fault that says how it was brought in, once its
// Preflight or Inject chose (netem, an NFQUEUE delayer, a qdisc …): the
// run report shows it per fault.
type Mechanismer interface {
	Mechanism() string
}
