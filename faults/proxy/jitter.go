package proxy

import (
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Jitter adds a random delay, uniform from delay to delay+jitter, to each
// request (http route) or chunk (tcp route) on the way to or from the target.
type Jitter struct {
	Jitter units.Duration `yaml:"jitter" json:"jitter" jsonschema:"description=the random part: uniform from 0 to jitter,default=100ms"`
	Delay  units.Duration `yaml:"delay,omitempty" json:"delay,omitempty" jsonschema:"description=a fixed part added to every draw,default=0s"`
	// Open holds each new connection's opening too (tcp routes); the
	// control API takes it, experiments use latency with open.
	Open  bool `yaml:"-" json:"open,omitempty"`
	Share `yaml:",inline"`
	Match `yaml:",inline"`
	Flow  `yaml:",inline"`
}

// JitterKind is the jitter kind.
var JitterKind = Kind[Jitter]{
	Name:    "jitter",
	Summary: "random delay (uniform 0..jitter) per request (http route) or chunk (tcp route) in the fault proxy",
	New:     func() *Jitter { return &Jitter{Jitter: units.Duration(100 * time.Millisecond), Share: All} },
}

var (
	_ httpKind = (*Jitter)(nil)
	_ tcpKind  = (*Jitter)(nil)
)

// Validate implements Params.
func (f *Jitter) Validate() []units.Problem {
	var ps []units.Problem
	if f.Jitter <= 0 {
		ps = append(ps, units.Problemf("jitter", "must be more than 0 (valid: e.g. 50ms, 500us)"))
	}
	return append(append(ps, f.Share.validate()...), f.Flow.validate()...)
}

func (f *Jitter) http(_ Common, b base) (Fault, error) {
	return &latencyFault{base: b, Delay: f.Delay.D(), Jitter: f.Jitter.D(), Upto: true}, nil
}

func (f *Jitter) tcp(_ Common, b connBase) (ConnFault, error) {
	return &tcpLatencyFault{connBase: b, Delay: f.Delay.D(), Jitter: f.Jitter.D(), Upto: true, Hold: f.Open}, nil
}
