package verify

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/load"
)

// Recover defaults. RecoverStep is the resolution of time-to-recover: the
// load timeline's bucket width (100 ms), so finer steps would only repeat
// its rounding.
const (
	DefaultRecoverWithin = 30 * time.Second
	DefaultRecoverStable = 3 * time.Second
	RecoverStep          = load.Resolution
	// minSettle is the least time a window's requests get to complete before
	// it is judged (see RecoverCheck.settle).
	minSettle = time.Second
)

// RecoverCheck measures time-to-recover after rollback: the first moment t
// from which the load over [t, t+stable), judged as one window, meets the
// SLO. It holds when that is within the bound.
type RecoverCheck struct {
	Within units.Duration `yaml:"within,omitempty" jsonschema:"description=longest time from rollback to recovery,default=30s"`
	Stable units.Duration `yaml:"stable,omitempty" jsonschema:"description=how long the SLO must hold to count as recovered,default=3s"`
	Class  string         `yaml:"class,omitempty" jsonschema:"description=judge only this traffic class (default: all)"`
	SLO    SLO            `yaml:"slo" jsonschema:"description=the SLO that recovered load meets"`

	st *recoverState // created on first use
}

// recoverState is how far Done has judged, so each candidate is judged once.
type recoverState struct {
	mu   sync.Mutex
	next int  // first step Done has not judged yet
	seen bool // Done saw recovery
}

var (
	_ Check  = (*RecoverCheck)(nil)
	_ Waiter = (*RecoverCheck)(nil)
)

// DefaultDuring is the window a recover check judges when it names none:
// the recovery after rollback.
func (*RecoverCheck) DefaultDuring() string { return "recovery" }

// Validate requires an SLO with at least one bound and a stable time.
func (c *RecoverCheck) Validate() []units.Problem {
	var ps []units.Problem
	for _, p := range c.SLO.Validate() {
		p.Field = joinField("slo", p.Field)
		ps = append(ps, p)
	}
	if c.Stable != 0 && c.Stable.D() < RecoverStep {
		ps = append(ps, units.Problemf("stable", "%s is shorter than the timeline's %s resolution; want %s or more", c.Stable, RecoverStep, RecoverStep))
	}
	return ps
}

func (c *RecoverCheck) within() time.Duration { return cmp.Or(c.Within.D(), DefaultRecoverWithin) }
func (c *RecoverCheck) stable() time.Duration { return cmp.Or(c.Stable.D(), DefaultRecoverStable) }

// settle is how long after a window ends its requests get to complete before
// it is judged: the largest latency bound (a request in flight longer than
// that breaks the SLO anyway), at least a second. Requests still in flight
// after that are not counted, so a window is judged on what has completed.
func (c *RecoverCheck) settle() time.Duration {
	d := minSettle
	for _, b := range []*units.Duration{c.SLO.P50, c.SLO.P95, c.SLO.P99, c.SLO.TTFT} {
		if b != nil && b.D() > d {
			d = b.D()
		}
	}
	return d
}

// Limit is within + stable + settle: the last candidate start, its stable
// window, and the time its requests get to complete.
func (c *RecoverCheck) Limit() time.Duration { return c.within() + c.stable() + c.settle() }

// step is one candidate recovery start judged.
type step struct {
	at                      time.Duration // after rollback
	sum                     load.Summary
	ok                      bool
	measured, bound, reason string
}

// judge judges candidate k (start rollback + k·RecoverStep); false when it
// is past within or not observable yet at ev.Now: while the run goes on,
// that includes a window with answers still in flight. final (the load has
// stopped, every answer is in) judges what there is.
func (c *RecoverCheck) judge(ev Evidence, k int, final bool) (step, bool) {
	at := time.Duration(k) * RecoverStep
	from := ev.Rollback.Add(at)
	to := from.Add(c.stable())
	if at > c.within() || to.Add(c.settle()).After(ev.Now) {
		return step{}, false
	}
	s := step{at: at, sum: ev.Timeline.Summary(from, to, c.Class)}
	if s.sum.InFlight > 0 && !final {
		// Answers still coming (at worst until the load's timeout): a
		// verdict on what completed so far could hold and later fail.
		return step{}, false
	}
	s.ok, s.measured, s.bound, s.reason = c.SLO.Judge(s.sum)
	return s, true
}

// Done is true once recovery has been seen, or when within + stable + settle
// have passed since rollback. It judges each candidate once.
func (c *RecoverCheck) Done(ev Evidence) bool {
	if ev.Rollback.IsZero() || ev.Timeline == nil {
		return false
	}
	st := lazy(&c.st)
	st.mu.Lock()
	defer st.mu.Unlock()
	for !st.seen {
		s, ok := c.judge(ev, st.next, false)
		if !ok {
			break
		}
		st.seen = s.ok
		st.next++
	}
	return st.seen || !ev.Now.Before(ev.Rollback.Add(c.Limit()))
}

// Evaluate scans the candidates afresh on the final evidence and sets
// TimeToRecover when the load recovered.
func (c *RecoverCheck) Evaluate(_ context.Context, ev Evidence) Result {
	bound := fmt.Sprintf("recovered within %s, stable %s: %s", c.within(), c.stable(), c.SLO.Bound())
	switch {
	case ev.Rollback.IsZero():
		return failed("", bound, "no rollback took place, so recovery could not be measured")
	case ev.Timeline == nil:
		return failed("", bound, "no load ran after rollback")
	}
	var last step
	judged := 0
	for k := 0; ; k++ {
		s, ok := c.judge(ev, k, true)
		if !ok {
			break
		}
		judged++
		last = s
		if s.ok {
			ttr := s.at
			r := held(fmt.Sprintf("recovered after %s: %s", FormatTTR(ttr), s.measured), bound)
			r.TimeToRecover = &ttr
			return r
		}
	}
	if judged == 0 {
		return failed("", bound, "not recovered: only %s observed after rollback, %s stable needed (and %s to settle)",
			fmtDur(ev.Now.Sub(ev.Rollback)), c.stable(), c.settle())
	}
	observed := ""
	if last.at < c.within() {
		observed = fmt.Sprintf(" (observed only %s)", fmtDur(last.at))
	}
	return failed("last "+c.stable().String()+": "+last.measured, bound, "not recovered within %s%s: last %s %s%s (%d requests)",
		c.within(), observed, c.stable(), last.reason, classSuffix(c.Class), last.sum.Completed)
}

// FormatTTR prints a time-to-recover at its resolution, 0.1 s: 0s, 0.3s,
// 1.1s, 12s.
func FormatTTR(d time.Duration) string {
	return strconv.FormatFloat(d.Round(RecoverStep).Seconds(), 'f', -1, 64) + "s"
}

func joinField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}
