package proxy

import (
	"github.com/chaos-sre/chaos/internal/units"
)

// Params is a proxy fault kind's parameters: one struct that experiments
// decode (yaml tags), the control API carries (json tags) and `chaos schema`
// describes (jsonschema tags). The same struct builds what the kind does on
// a route: an http kind has an http hook, a tcp kind a tcp hook, some both.
type Params interface {
	// Validate reports problems with the parameters as an experiment has
	// them, by yaml field name, saying what would be valid.
	Validate() []units.Problem
}

// httpKind is a kind that acts on http routes: it builds the per-request
// fault from its params (decoded from the spec) and the common ones.
type httpKind interface {
	http(c Common, b base) (Fault, error)
}

// tcpKind is a kind that acts on tcp routes: it builds the per-connection
// fault from its params and the common ones.
type tcpKind interface {
	tcp(c Common, b connBase) (ConnFault, error)
}

// Kind describes one proxy fault kind: its name, a line for `chaos
// faults`, and its parameters with the defaults an experiment starts from.
// Each kind's file declares its Kind; KindList lists them all.
type Kind[P any] struct {
	Name    string
	Summary string
	// New returns the parameters an experiment starts from (its defaults).
	New func() *P
	// Bare returns what a spec sent to a route is decoded into (the control
	// API's defaults); nil is the zero value.
	Bare func() *P
}

// KindInfo is a Kind without its type parameter, as lists hold it.
type KindInfo interface {
	KindName() string
	KindSummary() string
	// Defaults returns a new value of the parameters an experiment starts
	// from.
	Defaults() Params
	bare() Params
}

// KindName is the kind's name in experiments and specs.
func (k Kind[P]) KindName() string { return k.Name }

// KindSummary is the kind's line for `chaos faults`.
func (k Kind[P]) KindSummary() string { return k.Summary }

// Defaults implements KindInfo.
func (k Kind[P]) Defaults() Params { return any(k.New()).(Params) }

func (k Kind[P]) bare() Params {
	var p any = new(P)
	if k.Bare != nil {
		p = k.Bare()
	}
	return p.(Params)
}

// Share is the share of requests (http routes) or connections (tcp routes)
// a proxy fault hits.
type Share struct {
	Share units.Percent `yaml:"share,omitempty" json:"share,omitempty" jsonschema:"description=share of requests (http) or connections (tcp) hit,default=100%"`
}

// All is a Share of every request or connection.
var All = Share{Share: 1}

func (s Share) validate() []units.Problem {
	if s.Share <= 0 {
		return []units.Problem{units.Problemf("share", "%s hits nothing (valid: more than 0%% up to 100%%)", s.Share)}
	}
	return nil
}

// Flow is which way an L4 fault acts on a tcp route.
type Flow struct {
	Direction string `yaml:"direction,omitempty" json:"direction,omitempty" jsonschema:"enum=downstream,enum=upstream,enum=both,description=downstream: the upstream's answer to the client; upstream: the client's bytes,default=downstream"`
}

func (f Flow) validate() []units.Problem {
	if _, err := ParseDirection(f.Direction); err != nil {
		return []units.Problem{units.Problemf("direction", "%v", err)}
	}
	return nil
}

// validateDelay checks a delay and its jitter, shared by the kinds that hold
// traffic for a time; example is a typical delay for the message.
func validateDelay(delay, jitter units.Duration, example string) []units.Problem {
	var ps []units.Problem
	if delay <= 0 {
		ps = append(ps, units.Problemf("delay", "must be more than 0 (valid: e.g. %s)", example))
	}
	if jitter > delay {
		ps = append(ps, units.Problemf("jitter", "%s is more than delay %s (valid: 0 to delay)", jitter, delay))
	}
	return ps
}
