package proxy

import (
	"fmt"
	"net/http"

	"github.com/chaos-sre/chaos/internal/units"
)

// StreamCut closes the connection of the target's SSE answers after a
// number of events: the answer ends mid-way, with no [DONE].
type StreamCut struct {
	After int `yaml:"after" json:"after" jsonschema:"description=events passed before the cut,default=3,minimum=0"`
	// For is refused with a clear message (stream-stall takes it).
	For   units.Duration `yaml:"-" json:"for,omitempty"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
}

// StreamCutKind is the stream-cut kind.
var StreamCutKind = Kind[StreamCut]{
	Name:    "stream-cut",
	Summary: "close the target's SSE answers after N events (no [DONE])",
	New:     func() *StreamCut { return &StreamCut{After: 3, Share: All} },
}

var _ httpKind = (*StreamCut)(nil)

// Validate implements Params.
func (f *StreamCut) Validate() []units.Problem {
	var ps []units.Problem
	if f.After < 0 {
		ps = append(ps, units.Problemf("after", "%d is negative (valid: 0 or more events)", f.After))
	}
	return append(ps, f.Share.validate()...)
}

func (f *StreamCut) http(_ Common, b base) (Fault, error) {
	if f.After < 0 || f.For != 0 {
		return nil, fmt.Errorf("after must be 0 or more, and stream-cut takes no for (got after %d)", f.After)
	}
	return &streamCutFault{base: b, After: f.After}, nil
}

// streamCutFault ends an SSE answer after After events by closing the
// connection mid-answer: no further events, no [DONE].
type streamCutFault struct {
	base
	After int
}

// ServeHTTP implements Fault.
func (s *streamCutFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(n int) error {
		if n >= s.After {
			return errCut
		}
		return nil
	}
	e.serve(next, r)
}
