package proxy

import (
	"fmt"
	"net/http"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// StreamStall pauses the target's SSE answers after a number of events for
// a while, then lets them go on: a model that hangs mid-answer. after: 0
// holds the first byte as well.
type StreamStall struct {
	After int            `yaml:"after" json:"after" jsonschema:"description=events passed before the stall,default=2,minimum=0"`
	For   units.Duration `yaml:"for" json:"for" jsonschema:"description=how long the stream stalls,default=5s"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
}

// StreamStallKind is the stream-stall kind.
var StreamStallKind = Kind[StreamStall]{
	Name:    "stream-stall",
	Summary: "pause the target's SSE answers after N events for a while",
	New:     func() *StreamStall { return &StreamStall{After: 2, For: units.Duration(5 * time.Second), Share: All} },
}

var _ httpKind = (*StreamStall)(nil)

// Validate implements Params.
func (f *StreamStall) Validate() []units.Problem {
	var ps []units.Problem
	if f.After < 0 {
		ps = append(ps, units.Problemf("after", "%d is negative (valid: 0 or more events)", f.After))
	}
	if f.For <= 0 {
		ps = append(ps, units.Problemf("for", "must be more than 0 (valid: e.g. 5s)"))
	}
	return append(ps, f.Share.validate()...)
}

func (f *StreamStall) http(_ Common, b base) (Fault, error) {
	if f.After < 0 || f.For <= 0 {
		return nil, fmt.Errorf("after must be 0 or more and for more than 0s (got after %d, for %s)", f.After, f.For)
	}
	return &streamStallFault{base: b, After: f.After, For: f.For.D()}, nil
}

// streamStallFault pauses an SSE answer for For after After events (after
// 0 holds the first byte too), then lets it go on.
type streamStallFault struct {
	base
	After int
	For   time.Duration
}

// ServeHTTP implements Fault.
func (s *streamStallFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(n int) error {
		if n == s.After {
			if !sleep(e.ctx, s.For) {
				return errCut
			}
		}
		return nil
	}
	e.serve(next, r)
}
