package proxy

import (
	"fmt"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// LimitData closes each connection through the tcp proxy route in front of
// the target once a number of bytes has passed in one direction.
type LimitData struct {
	Bytes int64 `yaml:"bytes" json:"bytes" jsonschema:"description=bytes let through before the close,default=1024,minimum=0"`
	Share `yaml:",inline"`
	Flow  `yaml:",inline"`
}

// LimitDataKind is the limit-data kind.
var LimitDataKind = Kind[LimitData]{
	Name:    "limit-data",
	Summary: "close connections through a tcp proxy route after N bytes",
	New:     func() *LimitData { return &LimitData{Bytes: 1024, Share: All} },
}

var _ tcpKind = (*LimitData)(nil)

// Validate implements Params.
func (f *LimitData) Validate() []units.Problem {
	var ps []units.Problem
	if f.Bytes < 0 {
		ps = append(ps, units.Problemf("bytes", "%d is negative (valid: 0 or more)", f.Bytes))
	}
	return append(append(ps, f.Share.validate()...), f.Flow.validate()...)
}

func (f *LimitData) tcp(_ Common, b connBase) (ConnFault, error) {
	if f.Bytes < 0 {
		return nil, fmt.Errorf("bytes %d is negative (valid: 0 or more)", f.Bytes)
	}
	return &tcpLimitDataFault{connBase: b, Bytes: f.Bytes}, nil
}

// tcpLimitDataFault closes the connection once Bytes have passed in its
// direction.
type tcpLimitDataFault struct {
	connBase
	Bytes int64
}

type tcpLimitDataToxic struct {
	*tcpLimitDataFault
	mu     sync.Mutex
	passed int64
}

// Open implements ConnFault.
func (f *tcpLimitDataFault) Open() Toxic {
	if !f.draw() {
		return nil
	}
	return &tcpLimitDataToxic{tcpLimitDataFault: f}
}

func (t *tcpLimitDataToxic) chunk(_ *tcpConn, b []byte, _ time.Time, next func([]byte) error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	left := t.Bytes - t.passed
	if int64(len(b)) < left {
		t.passed += int64(len(b))
		return next(b)
	}
	if left > 0 {
		if err := next(b[:left]); err != nil {
			return err
		}
	}
	t.passed = t.Bytes
	return errClosed
}
