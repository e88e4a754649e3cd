package run

import (
	"github.com/chaos-sre/chaos/faults/connection"
	"github.com/chaos-sre/chaos/verify/report"
)

// keepFaultSeries copies what a fault measured of itself (the exhaust
// fault's connections held, refused and reset per second) into its report,
// so a run shows whether the server was held at N or fought back. Called
// once the fault's rollback returned: the series then ends with its last
// point.
func (e *engine) keepFaultSeries(f *plannedFault) {
	s, ok := f.spec.Params.(connection.ExhaustSeries)
	if !ok {
		return
	}
	pts := s.Series()
	out := make([]report.FaultPoint, 0, len(pts))
	for _, p := range pts {
		out = append(out, report.FaultPoint{T: report.SecondsSince(e.start, p.Time), Addr: p.Addr,
			Held: p.Held, Refused: p.Refused, Reset: p.Reset})
	}
	e.mu.Lock()
	f.rep.Series = out
	e.mu.Unlock()
}
