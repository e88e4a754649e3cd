package proxy

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// FailFirst fails the first count requests to the target (per proxy
// route) with an error status, then lets every later one pass: enough to
// prove a client or gateway retries.
type FailFirst struct {
	Count      int            `yaml:"count" json:"count" jsonschema:"description=requests that fail,default=3,minimum=1"`
	Status     int            `yaml:"status,omitempty" json:"status,omitempty" jsonschema:"default=503,minimum=400,maximum=599"`
	RetryAfter units.Duration `yaml:"retry_after,omitempty" json:"retry_after,omitempty" jsonschema:"description=sent as Retry-After seconds; 0 sends none"`
	// Corrupt (malformed, truncated) and Body are taken by the control API
	// only, as http-error has them; Body is not sent.
	Corrupt string `yaml:"-" json:"corrupt,omitempty"`
	Body    string `yaml:"-" json:"body,omitempty"`
	Match   `yaml:",inline"`
}

// FailFirstKind is the fail-first kind.
var FailFirstKind = Kind[FailFirst]{
	Name:    "fail-first",
	Summary: "fail the first N requests to the target with an error status, then pass (proves retries)",
	New:     func() *FailFirst { return &FailFirst{Count: 3, Status: 503} },
}

var _ httpKind = (*FailFirst)(nil)

// Validate implements Params.
func (f *FailFirst) Validate() []units.Problem {
	var ps []units.Problem
	if f.Count < 1 {
		ps = append(ps, units.Problemf("count", "%d is too few (valid: 1 or more)", f.Count))
	}
	if f.Status < 400 || f.Status > 599 {
		ps = append(ps, units.Problemf("status", "%d is not an error status (valid: 400 to 599)", f.Status))
	}
	return ps
}

func (f *FailFirst) http(c Common, b base) (Fault, error) {
	status, err := checkAnswer(f.Status, f.Corrupt)
	if err != nil {
		return nil, err
	}
	if f.Count < 1 {
		return nil, fmt.Errorf("count %d is too few (valid: 1 or more)", f.Count)
	}
	if c.Share != nil {
		return nil, fmt.Errorf("share does not apply to fail-first (it fails exactly the first count requests)")
	}
	return &failFirstFault{base: b, Count: int64(f.Count), Status: status, RetryAfter: f.RetryAfter.D(), Corrupt: f.Corrupt}, nil
}

// failFirstFault fails the first Count matching requests with Status,
// then lets every later one pass.
type failFirstFault struct {
	base
	Count      int64
	Status     int
	RetryAfter time.Duration
	Corrupt    string
	seen       atomic.Int64
	wire       canned
}

var (
	_ Fault     = (*failFirstFault)(nil)
	_ loopFault = (*failFirstFault)(nil)
)

// decide implements loopFault: the loop answers.
func (f *failFirstFault) decide(rq *rawRequest, v *verdict) bool {
	if !f.Match.okRaw(rq) || f.seen.Add(1) > f.Count {
		return false
	}
	if f.hits != nil {
		f.hits.Add(1)
	}
	v.answer = f.wire.get(f.Status, f.RetryAfter, "", f.Corrupt, "fail-first", rq.isHead)
	v.cut = f.Corrupt == CorruptTruncated
	return true
}

// ServeHTTP implements Fault.
func (f *failFirstFault) ServeHTTP(w http.ResponseWriter, r *http.Request, next http.Handler) {
	if !f.Match.OK(r) || f.seen.Add(1) > f.Count {
		next.ServeHTTP(w, r)
		return
	}
	if f.hits != nil {
		f.hits.Add(1)
	}
	writeInjected(w, f.Status, f.RetryAfter, "", f.Corrupt, "fail-first")
}
