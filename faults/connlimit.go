package faults

import (
	"context"
	"errors"

	"github.com/chaos-sre/chaos/faults/target"
	"github.com/chaos-sre/chaos/internal/units"
)

// ConnLimit caps the connections a service accepts (iptables connlimit in
// the target's network namespace). It needs the network fault support of
// issue 6 (entering a container's namespace, journaled packet rules), which
// has not landed: preflight refuses it with exit 4 and says so, and nothing
// is changed.
type ConnLimit struct {
	Max  int `yaml:"max" json:"max" jsonschema:"description=connections accepted at once; more are rejected,default=10,minimum=1"`
	Port int `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"description=the service port; default every port"`

	changes
}

var _ Fault = (*ConnLimit)(nil)

// errNeedsNetwork says why conn-limit cannot run yet.
var errNeedsNetwork = errors.New("needs the network fault support (issue 6) — iptables connlimit in the target's network namespace, journaled — which is not built yet; use exhaust to hold the service's connections instead")

// Validate implements Fault.
func (c *ConnLimit) Validate() []units.Problem {
	var ps []units.Problem
	if c.Max < 1 {
		ps = append(ps, units.Problemf("max", "%d is too few (valid: 1 or more)", c.Max))
	}
	if c.Port < 0 || c.Port > 65535 {
		ps = append(ps, units.Problemf("port", "%d is not a port (valid: 1 to 65535)", c.Port))
	}
	return ps
}

// Preflight implements Preflighter: it always refuses, for now.
func (c *ConnLimit) Preflight(context.Context, []target.Target) error { return errNeedsNetwork }

// Inject implements Fault.
func (c *ConnLimit) Inject(context.Context, Env) error { return errNeedsNetwork }

// Rollback implements Fault.
func (c *ConnLimit) Rollback(ctx context.Context) error { return c.rollback(ctx) }
