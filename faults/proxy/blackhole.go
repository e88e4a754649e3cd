package proxy

import (
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Blackhole (kinds timeout and blackhole) drops every byte in one direction
// through the tcp proxy route in front of the target; the connection stays
// open until timeout (0: until rollback, which closes it: bytes were lost).
type Blackhole struct {
	Timeout units.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=close each connection this long after it opens; 0 holds it until rollback,default=0s"`
	Share   `yaml:",inline"`
	Flow    `yaml:",inline"`
}

// TimeoutKind is the timeout kind.
var TimeoutKind = Kind[Blackhole]{
	Name:    "timeout",
	Summary: "blackhole: drop every byte through a tcp proxy route; close after timeout (0: at rollback)",
	New:     func() *Blackhole { return &Blackhole{Share: All} },
}

// BlackholeKind is the blackhole kind, the same as timeout.
var BlackholeKind = Kind[Blackhole]{
	Name:    "blackhole",
	Summary: "the same as timeout: drop every byte through a tcp proxy route; close after timeout (0: at rollback)",
	New:     func() *Blackhole { return &Blackhole{Share: All} },
}

var _ tcpKind = (*Blackhole)(nil)

// Validate implements Params.
func (f *Blackhole) Validate() []units.Problem {
	return append(f.Share.validate(), f.Flow.validate()...)
}

func (f *Blackhole) tcp(_ Common, b connBase) (ConnFault, error) {
	return &tcpBlackholeFault{connBase: b, Timeout: f.Timeout.D()}, nil
}

// tcpBlackholeFault drops every byte in its direction; it closes the
// connection Timeout after it was accepted (0: never, until the fault is
// removed — then it closes it, since bytes were lost).
type tcpBlackholeFault struct {
	connBase
	Timeout time.Duration
}

type tcpBlackholeToxic struct{ *tcpBlackholeFault }

// Open implements ConnFault.
func (f *tcpBlackholeFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpBlackholeToxic{f}
}

func (t tcpBlackholeToxic) open(c *tcpConn) error {
	go func() {
		var after <-chan time.Time
		if t.Timeout > 0 {
			tm := time.NewTimer(t.Timeout)
			defer tm.Stop()
			after = tm.C
		}
		select {
		case <-after:
		case <-t.removed:
		case <-c.done:
			return
		}
		c.kill(false)
	}()
	return nil
}

func (t tcpBlackholeToxic) chunk(*tcpConn, []byte, time.Time, func([]byte) error) error {
	return nil
}
