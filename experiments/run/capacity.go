package run

import (
	"fmt"

	"github.com/chaos-sre/chaos/verify/load"
	"github.com/chaos-sre/chaos/verify/report"
)

// capacity is what a load-only run reports: the highest rate the stack
// completed in one second while that second kept the steady state's bounds
// (every second counts when there are none). A ramp (load.stages) finds
// the knee: the last second before latency or errors broke the bounds.
func (e *engine) capacity(seconds []load.Second) *report.Capacity {
	var best *report.Capacity
	for _, s := range seconds {
		if s.Completed == 0 {
			continue
		}
		if ss := e.exp.SteadyState; ss != nil {
			slo := ss.SLO
			slo.MinCount = 1 // judge every second that completed anything
			if ok, _, _, _ := slo.Judge(s.Summary); !ok {
				continue
			}
		}
		if best == nil || s.Rate > best.Rate {
			best = &report.Capacity{Rate: s.Rate, At: report.SecondsSince(e.start, s.At), P99: ms(s.Latency.P99), ErrorRate: s.ErrorRate}
		}
	}
	if best != nil {
		best.Within = "every second counts (no steady_state bounds)"
		if ss := e.exp.SteadyState; ss != nil {
			_, _, bound, _ := ss.SLO.Judge(load.Summary{})
			best.Within = fmt.Sprintf("seconds within the steady state's bounds (%s)", bound)
		}
	}
	return best
}
