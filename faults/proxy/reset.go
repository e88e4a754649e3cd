package proxy

import (
	"errors"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// Reset resets connections through the tcp proxy route in front of the
// target (RST: "connection reset by peer"), at once or after a timeout.
type Reset struct {
	Timeout units.Duration `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"description=how long after it opens a connection is reset; 0 resets it at once,default=0s"`
	Share   `yaml:",inline"`
	Flow    `yaml:",inline"`
}

// ResetKind is the reset kind.
var ResetKind = Kind[Reset]{
	Name:    "reset",
	Summary: "reset connections (RST) through a tcp proxy route, at once or after a timeout",
	New:     func() *Reset { return &Reset{Share: All} },
}

var _ tcpKind = (*Reset)(nil)

// Validate implements Params.
func (f *Reset) Validate() []units.Problem {
	return append(f.Share.validate(), f.Flow.validate()...)
}

func (f *Reset) tcp(_ Common, b connBase) (ConnFault, error) {
	return &tcpResetFault{connBase: b, Timeout: f.Timeout.D()}, nil
}

var errReset = errors.New("connection reset by chaos")

// tcpResetFault resets the connection (RST, "connection reset by peer")
// Timeout after it was accepted; 0 resets it at once.
type tcpResetFault struct {
	connBase
	Timeout time.Duration
}

type tcpResetToxic struct{ *tcpResetFault }

// Open implements ConnFault.
func (f *tcpResetFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return tcpResetToxic{f}
}

func (t tcpResetToxic) open(c *tcpConn) error {
	if t.Timeout <= 0 {
		c.kill(true)
		return errReset
	}
	timer := time.AfterFunc(t.Timeout, func() {
		if !t.gone() {
			c.kill(true)
		}
	})
	go func() { <-c.done; timer.Stop() }()
	return nil
}

func (t tcpResetToxic) chunk(_ *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	return next(b)
}
