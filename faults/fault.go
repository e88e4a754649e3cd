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
	// Targets says what the kind hits: one of the Target* types.
	Targets []string
	New     func() Fault
}

// The types of target a kind hits (Kind.Targets), one per family: what the
// engine resolves and leases for it, and how the report says it was brought
// in when the fault does not say more (see Mechanismer).
const (
	TargetProcess   = "process"    // a local process, signalled
	TargetContainer = "container"  // a container, through the Docker Engine API
	TargetNetns     = "netns"      // a container's or process's network namespace
	TargetProxy     = "proxy"      // a fault proxy route in front of the target
	TargetURL       = "url"        // requests sent by chaos (flood)
	TargetAddr      = "addr"       // connections opened by chaos (exhaust)
	TargetKube      = "kubernetes" // a pod, workload or node, through the Kubernetes API
)

// mechanisms says how each type of target is hit, for the run report.
var mechanisms = map[string]string{
	TargetProcess:   "signal to the process",
	TargetContainer: "Docker Engine API on the container",
	TargetNetns:     "the target's network namespace",
	TargetProxy:     "in-process HTTP fault proxy in front of the target (per request)",
	TargetURL:       "open-loop requests from chaos",
	TargetKube:      "Kubernetes API on the object (nothing installed in the cluster)",
}

// Target is the type of target k hits, "" when the kind names none.
func (k Kind) Target() string {
	if len(k.Targets) == 0 {
		return ""
	}
	return k.Targets[0]
}

// Mechanism is how a fault of kind k is brought in, for the report when the
// fault itself does not say (Mechanismer); "" when the kind's name says it.
func (k Kind) Mechanism() string { return mechanisms[k.Target()] }

// Mechanismer is a fault that says how it was brought in, once its
// Preflight or Inject chose (netem, an NFQUEUE delayer, a qdisc …): the
// run report shows it per fault.
type Mechanismer interface {
	Mechanism() string
}
