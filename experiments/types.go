// Package experiments is the experiment format (version chaos/v1): its Go types,
// decoding from YAML with positions, validation that reports every problem at
// once as file:line:col, and the JSON Schema generated from the same types.
package experiments

import (
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify"
)

// Version is the only experiment format version this build reads.
const Version = "chaos/v1"

// Experiment is one YAML file: the stack, the load, the steady state, a
// timeline of faults, the checks that judge them and the abort conditions.
type Experiment struct {
	Version     string       `yaml:"version" jsonschema:"description=format version,enum=chaos/v1"`
	Name        string       `yaml:"name" jsonschema:"description=a short name used in reports"`
	Description string       `yaml:"description,omitempty"`
	Stack       Stack        `yaml:"stack,omitempty"`
	Load        Load         `yaml:"load"`
	SteadyState *SteadyState `yaml:"steady_state,omitempty" jsonschema:"description=checked before any fault; if it fails nothing is injected"`
	Faults      []FaultSpec  `yaml:"faults,omitempty"`
	Checks      []CheckSpec  `yaml:"checks,omitempty"`
	Abort       []Abort      `yaml:"abort,omitempty"`
	Recovery    Recovery     `yaml:"recovery,omitempty"`

	// File is the path the experiment was read from (not part of the YAML).
	File string `yaml:"-" json:"-"`
}

// Stack says what the experiment runs against.
type Stack struct {
	// Local starts the bundled example inference stack as local processes for
	// the length of the run (what `chaos demo` uses).
	Local *LocalStack `yaml:"local,omitempty" jsonschema:"description=start the bundled example stack as local processes"`
	// Vars are ${name} values for URLs of a stack that is already running,
	// e.g. gateway: http://localhost:8080. The local stack sets gateway and
	// one per process (model-primary-0 …).
	Vars map[string]string `yaml:"vars,omitempty"`
	// Compose names the docker-compose file of a stack that is already up
	// (chaos does not start it): service targets are its containers, found
	// through the Docker API by their compose labels.
	Compose string `yaml:"compose,omitempty" jsonschema:"description=docker-compose file of a running stack (relative to the experiment); service targets are its containers"`
	// Project is the compose project; default as docker-compose: the
	// compose file's folder name (or $COMPOSE_PROJECT_NAME).
	Project string `yaml:"project,omitempty" jsonschema:"description=compose project name; default $COMPOSE_PROJECT_NAME or the compose file's folder name"`
	// Kubernetes names a cluster whose pods, workloads and nodes the
	// targets are (pod:, deployment:, statefulset:, labels:, namespace:,
	// node:), reached through its API with nothing installed in it.
	Kubernetes *KubeStack `yaml:"kubernetes,omitempty" jsonschema:"description=a Kubernetes cluster: targets are its pods; workloads and nodes"`
}

// KubeStack names a Kubernetes cluster as kubectl does.
type KubeStack struct {
	Kubeconfig string `yaml:"kubeconfig,omitempty" jsonschema:"description=kubeconfig file (relative to the experiment); default $KUBECONFIG or ~/.kube/config"`
	Context    string `yaml:"context,omitempty" jsonschema:"description=context of the kubeconfig; default its current context"`
	Namespace  string `yaml:"namespace,omitempty" jsonschema:"description=namespace of the targets; default the context's namespace or default"`
	// AgentLease is how long the chaos agent keeps a fault of this run
	// (net-*, partition, dns, conn-limit, freeze/pause on pods) without
	// hearing from it; the run renews every third of it.
	AgentLease units.Duration `yaml:"agent_lease,omitempty" jsonschema:"description=how long the chaos agent keeps a fault on a pod without hearing from this run (it renews every third of it); a killed run's faults are undone by the agents within it,default=15s"`
}

// LocalStack configures the bundled example stack.
type LocalStack struct {
	Primaries int      `yaml:"primaries,omitempty" jsonschema:"description=primary model replicas,default=2,minimum=1,maximum=8"`
	Variant   []string `yaml:"variant,omitempty" jsonschema:"description=gateway behaviours to remove"`
	Gateway   []string `yaml:"gateway_args,omitempty" jsonschema:"description=extra gateway flags"`
	Primary   []string `yaml:"primary_args,omitempty" jsonschema:"description=extra flags for the primary model replicas"`
	Fallback  []string `yaml:"fallback_args,omitempty" jsonschema:"description=extra flags for the fallback model"`
}

// Load is the traffic kept flowing for the whole run.
type Load struct {
	URL         string            `yaml:"url" jsonschema:"description=request URL; ${gateway} expands to the stack gateway"`
	Method      string            `yaml:"method,omitempty" jsonschema:"default=POST,enum=GET,enum=POST,enum=PUT"`
	Headers     map[string]string `yaml:"headers,omitempty"`
	Body        any               `yaml:"body,omitempty" jsonschema:"description=request body; a mapping is sent as JSON"`
	Stream      *bool             `yaml:"stream,omitempty" jsonschema:"description=parse answers as SSE; default: the body's stream field"`
	Rate        units.Rate        `yaml:"rate,omitempty" jsonschema:"description=constant rate (e.g. 50/s)"`
	Stages      []Stage           `yaml:"stages,omitempty" jsonschema:"description=rates over time from the start of the run; the last one holds"`
	Classes     []Class           `yaml:"classes,omitempty" jsonschema:"description=a traffic mix; shares add up to 100%"`
	Timeout     units.Duration    `yaml:"timeout,omitempty" jsonschema:"default=10s"`
	Connections int               `yaml:"connections,omitempty" jsonschema:"description=connection pool size (also the most requests in flight),default=256,minimum=1"`
	Degraded    *Marker           `yaml:"degraded,omitempty" jsonschema:"description=how a degraded (fallback) answer is recognised"`
	// FreshConnections sends every request as a new client does (see Class).
	FreshConnections bool `yaml:"fresh_connections,omitempty" jsonschema:"description=open a new TCP connection for every request (Connection: close) and measure connect time and connect errors; see slo connect_p99 and connect_error_rate"`
}

// Stage is one step of the load: a rate held (or ramped) for a time.
type Stage struct {
	Rate   units.Rate     `yaml:"rate"`
	For    units.Duration `yaml:"for"`
	RampTo units.Rate     `yaml:"ramp_to,omitempty" jsonschema:"description=ramp linearly from rate to this over for"`
}

// Class is a share of the load with its own headers (e.g. a priority).
type Class struct {
	Name    string            `yaml:"name"`
	Share   units.Percent     `yaml:"share"`
	Headers map[string]string `yaml:"headers,omitempty"`
	// FreshConnections makes this class new clients: each request dials its
	// own connection, sends Connection: close and closes it, so connect
	// time, time to first byte and connect failures are measured for it.
	FreshConnections bool `yaml:"fresh_connections,omitempty" jsonschema:"description=new clients: a new TCP connection per request of this class (Connection: close)"`
}

// Marker says how a degraded answer is told apart: a header or a JSON field
// (of the body, or of any SSE chunk) equal to a value.
type Marker struct {
	Header string `yaml:"header,omitempty"`
	JSON   string `yaml:"json,omitempty" jsonschema:"description=a top-level or dotted JSON field"`
	Equals string `yaml:"equals"`
}

// SteadyState must hold before anything is injected.
type SteadyState struct {
	For units.Duration `yaml:"for" jsonschema:"description=how long the baseline runs,default=5s"`
	SLO verify.SLO     `yaml:"slo"`
}

// FaultSpec is one fault on the timeline.
type FaultSpec struct {
	Name   string         `yaml:"name"`
	Kind   string         `yaml:"kind"`
	Target targets.Spec   `yaml:"target"`
	Params faults.Fault   `yaml:"params,omitempty" jsonschema:"description=the kind's parameters (see chaos faults)"`
	At     units.Duration `yaml:"at,omitempty" jsonschema:"description=start time after the baseline"`
	For    units.Duration `yaml:"for" jsonschema:"description=how long the fault stays on"`
}

// CheckSpec is one check: common fields plus the kind's own fields, written
// inline at the same level.
type CheckSpec struct {
	Name   string         `yaml:"name"`
	Kind   string         `yaml:"kind"`
	During string         `yaml:"during,omitempty" jsonschema:"description=a fault name or baseline | faults | recovery | run"`
	After  units.Duration `yaml:"after,omitempty" jsonschema:"description=skip the first part of the window (let things settle)"`
	Check  verify.Check   `yaml:",inline"`
}

// Abort stops the run (rollback, exit 3) when a condition holds for a time.
type Abort struct {
	When  string         `yaml:"when" jsonschema:"description=e.g. error_rate > 50% or p99 > 5s"`
	For   units.Duration `yaml:"for,omitempty" jsonschema:"default=5s"`
	Class string         `yaml:"class,omitempty"`
}

// Recovery bounds the recovery phase after rollback.
type Recovery struct {
	For units.Duration `yaml:"for,omitempty" jsonschema:"description=longest recovery phase; recover checks end it earlier,default=30s"`
}
