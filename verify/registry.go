package verify

import (
	"net/http"

	"github.com/chaos-sre/chaos/internal/units"
)

// Kinds is every check kind by name: the experiment decoder, the docs and the
// JSON Schema all read this one map. New returns the kind with its defaults
// filled in, so a decoded check carries the values it runs with (each kind
// also treats a zero value as its default, for checks built in Go).
var Kinds = map[string]Kind{
	"slo": {
		Summary: "the load in the window meets an SLO (latency percentiles, error rate, degraded share)",
		New:     func() Check { return &SLOCheck{SLO: SLO{MinCount: DefaultMinRequests}} },
	},
	BreakerKind: {
		Summary: "a circuit breaker tripped soon after the window starts: its state metric, or fast answers",
		New:     func() Check { return &BreakerCheck{Within: units.Duration(DefaultBreakerWithin)} },
	},
	"degraded": {
		Summary: "the share of degraded (fallback) answers in the window lies within bounds",
		New:     func() Check { return &DegradedCheck{MinCount: DefaultMinRequests} },
	},
	"recover": {
		Summary: "after rollback the load meets an SLO again, stably, within a time; measures time-to-recover",
		New: func() Check {
			return &RecoverCheck{Within: units.Duration(DefaultRecoverWithin), Stable: units.Duration(DefaultRecoverStable)}
		},
	},
	"http": {
		Summary: "a URL probed every second answers the expected status (and body) often enough",
		New: func() Check {
			return &HTTPCheck{Method: http.MethodGet, Status: http.StatusOK, MinSuccess: ptr(units.Percent(1))}
		},
	},
	"prometheus": {
		Summary: "a metric scraped from a /metrics endpoint stays within bounds (value, increase, max or min)",
		New:     func() Check { return &PrometheusCheck{Mode: ModeValue} },
	},
	"promql": {
		Summary: "a PromQL expression asked of a Prometheus server over the window (${window}) lies within bounds for every series",
		New:     func() Check { return &PromQLCheck{Mode: QueryInstant} },
	},
	"container": {
		Summary: "Docker containers of a target are running / healthy / restarted at most N times, at the window's end",
		New:     func() Check { return &ContainerCheck{} },
	},
	"pods": {
		Summary: "Kubernetes pods of a target are Ready (at least N, optionally within a time) / restarted at most N times, at the window's end",
		New:     func() Check { return &PodsCheck{} },
	},
	"events": {
		Summary: "Kubernetes Events in the window matching a reason (and object, type, message) number at least min / at most max",
		New:     func() Check { return &EventsCheck{} },
	},
	"command": {
		Summary: "a program run at the end of the window exits as expected (and prints a substring)",
		New:     func() Check { return &CommandCheck{Timeout: units.Duration(DefaultCommandTimeout)} },
	},
}

func ptr[T any](v T) *T { return &v }
