// Package target resolves an experiment's target spec into the concrete things a
// fault hits: local processes, proxy routes in front of them, or plain addresses.
// Resolvers are an interface so Docker and Kubernetes drivers slot in beside the
// local-process one.
package targets

import (
	"context"
	"errors"
)

// Spec is how an experiment names a target. Exactly one selector is set.
type Spec struct {
	Service string `yaml:"service,omitempty" json:"service,omitempty" jsonschema:"description=a stack service (local stack or compose service) e.g. model-primary"`
	Process string `yaml:"process,omitempty" json:"process,omitempty" jsonschema:"description=a local process by name (as in /proc/PID/comm) or a stack process name such as model-primary-0"`
	Pid     int    `yaml:"pid,omitempty" json:"pid,omitempty" jsonschema:"description=a local process id"`
	// Cmdline, Pidfile and Port name local processes by what they run, the
	// pid file they keep, or the TCP port they listen on; the guards of
	// process and pid targets apply to what they match.
	Cmdline string `yaml:"cmdline,omitempty" json:"cmdline,omitempty" jsonschema:"description=local processes whose command line (the arguments of /proc/PID/cmdline joined by spaces) matches this Go regular expression; unanchored: use ^ and $ to anchor"`
	Pidfile string `yaml:"pidfile,omitempty" json:"pidfile,omitempty" jsonschema:"description=the local process whose pid a pid file holds e.g. /run/nginx.pid (a small regular file holding one number)"`
	Port    int    `yaml:"port,omitempty" json:"port,omitempty" jsonschema:"description=the local processes listening on this TCP port of this host (IPv4 or IPv6),minimum=1,maximum=65535"`
	URL     string `yaml:"url,omitempty" json:"url,omitempty" jsonschema:"description=a URL (for load-style faults such as flood); ${gateway} expands to the stack gateway"`
	// Container, Labels and Project select Docker containers (see Docker).
	Container string            `yaml:"container,omitempty" json:"container,omitempty" jsonschema:"description=a Docker container by name or id"`
	Labels    map[string]string `yaml:"labels,omitempty" json:"labels,omitempty" jsonschema:"description=Docker containers carrying every one of these labels"`
	Project   string            `yaml:"project,omitempty" json:"project,omitempty" jsonschema:"description=the compose project of a service target; default stack.project"`
	// Proxy names a route of a fault proxy; with API it is a route of a
	// `chaos proxy` in another process, driven through its control API.
	Proxy string `yaml:"proxy,omitempty" json:"proxy,omitempty" jsonschema:"description=a fault proxy route by name (chaos proxy --listen …: the route is named by its listen address unless named with NAME=)"`
	API   string `yaml:"api,omitempty" json:"api,omitempty" jsonschema:"description=the control API of the chaos proxy holding the route e.g. http://127.0.0.1:8474"`
	Token string `yaml:"token,omitempty" json:"token,omitempty" jsonschema:"description=the control API token; ${NAME} reads the environment variable NAME (and the journal keeps only its name)"`
	// Pod, Deployment, StatefulSet, Namespace and Node select Kubernetes
	// objects of stack.kubernetes (see Kube); Labels then selects pods.
	Pod         string `yaml:"pod,omitempty" json:"pod,omitempty" jsonschema:"description=a Kubernetes pod by name (stack.kubernetes)"`
	Deployment  string `yaml:"deployment,omitempty" json:"deployment,omitempty" jsonschema:"description=the pods of a Kubernetes Deployment (stack.kubernetes); scale faults act on the Deployment itself"`
	StatefulSet string `yaml:"statefulset,omitempty" json:"statefulset,omitempty" jsonschema:"description=the pods of a Kubernetes StatefulSet (stack.kubernetes); scale faults act on the StatefulSet itself"`
	Namespace   string `yaml:"namespace,omitempty" json:"namespace,omitempty" jsonschema:"description=the Kubernetes namespace to look in; alone: every pod of it; default stack.kubernetes.namespace"`
	Node        string `yaml:"node,omitempty" json:"node,omitempty" jsonschema:"description=a Kubernetes node by name (node-drain; cordon); with no other selector the node itself"`
	Pick        string `yaml:"pick,omitempty" json:"pick,omitempty" jsonschema:"description=all | one | N | N% of the matches (a service defaults to all; a process or cmdline or port or container or labels target that matches several must say which),default=all"`
	// AllowHost lets a process or pid target be init (pid 1), the host's
	// init or container runtime (dockerd, containerd, systemd …) or another
	// user's process. Chaos itself, its ancestors and kernel threads stay
	// refused.
	AllowHost bool `yaml:"allow_host,omitempty" json:"allow_host,omitempty" jsonschema:"description=allow a process or pid target that is pid 1 or the host's init or container runtime (dockerd; containerd; runc; systemd; kubelet; sshd …) or another user's process; off by default so a fault never hits the host by mistake (chaos itself; its ancestors and kernel threads are always refused)"`
}

// Target is one resolved thing a fault hits.
type Target struct {
	Name    string // e.g. model-primary-0
	Service string
	Pid     int    // 0 when not a process
	Addr    string // host:port the target listens on, if any
	URL     string // for URL targets
	// Container is the Docker container id, "" when not a container.
	Container string
	// Proxy is the fault proxy route standing in front of this target, if any.
	Proxy Proxy
	// Kube is the Kubernetes object this target is, nil when it is not one.
	Kube *Kube
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

// ErrRefused marks a target that chaos refuses to act on (the host's network
// namespace, pid 1, chaos itself, the container runtime): the experiment is
// invalid (exit 2), not the tool broken. Wrap it with %w.
var ErrRefused = errors.New("refused target")
