package faults

import "github.com/chaos-sre/chaos/internal/units"

// Kinds is every fault kind by name: the experiment decoder, `chaos faults`
// and the JSON Schema all read this one map.
var Kinds = map[string]Kind{
	"process": {
		Summary: "send a signal to a process: STOP (hung node), KILL/TERM/INT (crash); rollback sends CONT or restarts",
		Targets: []string{"process"},
		New:     func() Fault { return &Process{Signal: "STOP", Restart: true} },
	},
	"latency": {
		Summary: "delay requests to the target in the fault proxy in front of it",
		Targets: []string{"proxy"},
		New:     func() Fault { return &Latency{Delay: units.Duration(1e9), Share: 1} },
	},
	"http-error": {
		Summary: "answer a share of requests to the target with an error status (503, 429 …) and Retry-After",
		Targets: []string{"proxy"},
		New:     func() Fault { return &HTTPError{Status: 503, Share: 1, RetryAfter: units.Duration(1e9)} },
	},
	"flood": {
		Summary: "an open-loop burst of requests above capacity with a priority mix: the \"server busy\" storm",
		Targets: []string{"url"},
		New:     func() Fault { return newFlood() },
	},
}
