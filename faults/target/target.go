// Package target resolves an experiment's target spec into the concrete things a
// fault hits: local processes, proxy routes in front of them, or plain addresses.
// Resolvers are an interface so Docker and Kubernetes drivers slot in beside the
// local-process one.
package target

import (
	"context"
)

// Spec is how an experiment names a target. Exactly one selector is set.
type Spec struct {
	Service string `yaml:"service,omitempty" json:"service,omitempty" jsonschema:"description=a stack service (local stack or compose service) e.g. model-primary"`
	Process string `yaml:"process,omitempty" json:"process,omitempty" jsonschema:"description=a local process by name (as in /proc/PID/comm) or a stack process name such as model-primary-0"`
	Pid     int    `yaml:"pid,omitempty" json:"pid,omitempty" jsonschema:"description=a local process id"`
	URL     string `yaml:"url,omitempty" json:"url,omitempty" jsonschema:"description=a URL (for load-style faults such as flood); ${gateway} expands to the stack gateway"`
	Pick    string `yaml:"pick,omitempty" json:"pick,omitempty" jsonschema:"description=all | one | N | N%,default=all"`
}

// Target is one resolved thing a fault hits.
type Target struct {
	Name    string // e.g. model-primary-0
	Service string
	Pid     int    // 0 when not a process
	Addr    string // host:port the target listens on, if any
	URL     string // for URL targets
	// Proxy is the fault proxy route standing in front of this target, if any.
	Proxy Proxy
	// Restart starts the target again (for kill faults), nil when unknown.
	Restart func(ctx context.Context) error
}

// Proxy is the part of a fault proxy route a proxy fault drives.
type Proxy interface {
	// Add installs a fault and returns its id.
	Add(f any) (id string, err error)
	// Remove uninstalls a fault; unknown ids are not an error.
	Remove(id string) error
	// Name names the route for reports.
	Name() string
}

// Resolver finds the targets a spec names.
type Resolver interface {
	// Resolve returns every match of spec (before picking). An empty result
	// is an error that lists what does exist.
	Resolve(ctx context.Context, spec Spec) ([]Target, error)
}
