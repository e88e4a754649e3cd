package verify

import (
	"github.com/chaos-sre/chaos/internal/units"
)

// SLO is a set of upper bounds on a window of load results. Unset bounds are
// not judged.
type SLO struct {
	P50       *units.Duration `yaml:"p50,omitempty" jsonschema:"description=latency p50 at most"`
	P95       *units.Duration `yaml:"p95,omitempty"`
	P99       *units.Duration `yaml:"p99,omitempty"`
	TTFT      *units.Duration `yaml:"ttft_p99,omitempty" jsonschema:"description=time to first content token p99 at most"`
	ErrorRate *units.Percent  `yaml:"error_rate,omitempty"`
	Degraded  *units.Percent  `yaml:"degraded,omitempty" jsonschema:"description=degraded share at most"`
	MinCount  int             `yaml:"min_requests,omitempty" jsonschema:"description=fewest completed requests for a verdict,default=10"`
}
