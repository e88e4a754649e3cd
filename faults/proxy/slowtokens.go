package proxy

import (
	"net/http"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// SlowTokens delays every SSE event of the target's answers: a model that
// streams slowly (low tokens per second).
type SlowTokens struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added before each event,default=100ms"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay"`
	Share  `yaml:",inline"`
	Match  `yaml:",inline"`
}

// SlowTokensKind is the slow-tokens kind.
var SlowTokensKind = Kind[SlowTokens]{
	Name:    "slow-tokens",
	Summary: "delay every SSE event of the target's answers (slow tokens per second)",
	New:     func() *SlowTokens { return &SlowTokens{Delay: units.Duration(100 * time.Millisecond), Share: All} },
}

var _ httpKind = (*SlowTokens)(nil)

// Validate implements Params.
func (f *SlowTokens) Validate() []units.Problem {
	return append(validateDelay(f.Delay, f.Jitter, "100ms"), f.Share.validate()...)
}

func (f *SlowTokens) http(_ Common, b base) (Fault, error) {
	return &slowTokensFault{base: b, Delay: f.Delay.D(), Jitter: f.Jitter.D()}, nil
}

// slowTokensFault delays every SSE event by Delay ± Jitter.
type slowTokensFault struct {
	base
	Delay, Jitter time.Duration
}

// ServeHTTP implements Fault.
func (s *slowTokensFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !s.applies(r) {
		next.ServeHTTP(w, r)
		return
	}
	e := newEventWriter(w, r)
	e.before = func(int) error {
		if !sleep(e.ctx, s.Delay+s.Chance.Jitter(s.Jitter)) {
			return errCut
		}
		return nil
	}
	e.serve(next, r)
}
