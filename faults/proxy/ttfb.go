package proxy

import (
	"net/http"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// TTFB holds the first byte of the target's answers (the proxy forwards the
// request at once; the client waits): a model slow to its first token.
type TTFB struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=how long the first byte is held,default=2s"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay"`
	Share  `yaml:",inline"`
	Match  `yaml:",inline"`
}

// TTFBKind is the ttfb kind.
var TTFBKind = Kind[TTFB]{
	Name:    "ttfb",
	Summary: "hold the first byte of the target's answers (a model slow to its first token)",
	New:     func() *TTFB { return &TTFB{Delay: units.Duration(2 * time.Second), Share: All} },
}

var _ httpKind = (*TTFB)(nil)

// Validate implements Params.
func (f *TTFB) Validate() []units.Problem {
	return append(validateDelay(f.Delay, f.Jitter, "2s"), f.Share.validate()...)
}

func (f *TTFB) http(_ Common, b base) (Fault, error) {
	return &ttfbFault{base: b, Delay: f.Delay.D(), Jitter: f.Jitter.D()}, nil
}

// ttfbFault holds the answer's first byte (its status line) for Delay ±
// Jitter: the request is forwarded at once, so the upstream works while the
// client waits.
type ttfbFault struct {
	base
	Delay, Jitter time.Duration
}

var _ loopFault = (*ttfbFault)(nil)

// decide implements loopFault: the loop holds the answer's head.
func (t *ttfbFault) decide(rq *rawRequest, v *verdict) bool {
	if t.appliesRaw(rq) {
		v.ttfb += t.Delay + t.Chance.Jitter(t.Jitter)
	}
	return false
}

// ServeHTTP implements Fault.
func (t *ttfbFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !t.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	d := t.Delay + t.Chance.Jitter(t.Jitter)
	e.header = func() { sleep(r.Context(), d) }
	e.serve(next, r)
}
