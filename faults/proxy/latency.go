package proxy

import (
	"net/http"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Latency delays traffic to the target through the fault proxy in front of
// it: each request (http route) or each chunk of bytes (tcp route), so its
// clients see a later first byte. On a tcp route it can also hold the
// connection's opening.
type Latency struct {
	Delay  units.Duration `yaml:"delay" json:"delay" jsonschema:"description=added before each request (http) or chunk (tcp) is forwarded; sub-millisecond works,default=1s"`
	Jitter units.Duration `yaml:"jitter,omitempty" json:"jitter,omitempty" jsonschema:"description=uniform ± spread around delay,default=0s"`
	Open   bool           `yaml:"open,omitempty" json:"open,omitempty" jsonschema:"description=tcp routes: also hold each new connection's opening for the delay"`
	Share  `yaml:",inline"`
	Match  `yaml:",inline"`
	Flow   `yaml:",inline"`
}

// LatencyKind is the latency kind.
var LatencyKind = Kind[Latency]{
	Name:    "latency",
	Summary: "delay requests (http route) or bytes (tcp route) to the target in the fault proxy in front of it",
	New:     func() *Latency { return &Latency{Delay: units.Duration(time.Second), Share: All} },
}

var (
	_ httpKind = (*Latency)(nil)
	_ tcpKind  = (*Latency)(nil)
)

// Validate implements Params.
func (l *Latency) Validate() []units.Problem {
	ps := validateDelay(l.Delay, l.Jitter, "500us, 200ms, 2s")
	return append(append(ps, l.Share.validate()...), l.Flow.validate()...)
}

func (l *Latency) http(_ Common, b base) (Fault, error) {
	return &latencyFault{base: b, Delay: l.Delay.D(), Jitter: l.Jitter.D()}, nil
}

func (l *Latency) tcp(_ Common, b connBase) (ConnFault, error) {
	return &tcpLatencyFault{connBase: b, Delay: l.Delay.D(), Jitter: l.Jitter.D(), Hold: l.Open}, nil
}

// latencyFault holds a request for Delay ± Jitter before forwarding it,
// which the client sees as a later first byte.
type latencyFault struct {
	base
	Delay, Jitter time.Duration
	Upto          bool // Jitter is a uniform [0, Jitter] added to Delay (the jitter kind)
}

var (
	_ Fault     = (*latencyFault)(nil)
	_ loopFault = (*latencyFault)(nil)
)

func (l *latencyFault) draw() time.Duration {
	if l.Upto {
		return l.Delay + l.Chance.Upto(l.Jitter)
	}
	return l.Delay + l.Chance.Jitter(l.Jitter)
}

// decide implements loopFault: the loop holds the request.
func (l *latencyFault) decide(rq *rawRequest, v *verdict) bool {
	if l.appliesRaw(rq) {
		v.delay += l.draw()
	}
	return false
}

// ServeHTTP implements Fault.
func (l *latencyFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if l.applies(r) {
		if !sleep(r.Context(), l.draw()) {
			return
		}
	}
	next.ServeHTTP(w, r)
}

// tcpLatencyFault delays every chunk by Delay (+ jitter) from when it was
// read; with Hold it also holds the connection's opening (the upstream is
// dialed, and bytes move, only after Delay).
type tcpLatencyFault struct {
	connBase
	Delay, Jitter time.Duration
	Upto, Hold    bool
}

type tcpLatencyToxic struct{ *tcpLatencyFault }

// Open implements ConnFault.
func (f *tcpLatencyFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpLatencyToxic{f}
}

func (t tcpLatencyToxic) d() time.Duration {
	if t.Upto {
		return t.Delay + t.Chance.Upto(t.Jitter)
	}
	return t.Delay + t.Chance.Jitter(t.Jitter)
}

func (t tcpLatencyToxic) open(c *tcpConn) error {
	if t.Hold && !c.wait(t.d(), t.removed) {
		return errClosed
	}
	return nil
}

func (t tcpLatencyToxic) chunk(c *tcpConn, b []byte, at time.Time, next func([]byte) error) error {
	if !c.wait(time.Until(at.Add(t.d())), t.removed) {
		return errClosed
	}
	return next(b)
}
