package verify

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// EventsCheck counts the Kubernetes Events of a namespace that happened in
// its window and match a reason (and, when set, the kind and name of the
// object they are about, their type, their message), and holds when the
// count lies within min and max. "A pod was rescheduled" is
// {reason: Scheduled, object: {kind: Pod, name: model-.*}, min: 1}; "no
// pod was killed" is {reason: Killing, max: 0}.
type EventsCheck struct {
	Reason    string       `yaml:"reason" jsonschema:"description=the event's reason e.g. Killing or Scheduled or SuccessfulCreate or BackOff; a Go regular expression matching the whole reason e.g. Killing|Scheduled"`
	Object    *EventObject `yaml:"object,omitempty" jsonschema:"description=the object the event is about (its involvedObject)"`
	Type      string       `yaml:"type,omitempty" jsonschema:"description=the event's type,enum=Normal,enum=Warning"`
	Message   string       `yaml:"message,omitempty" jsonschema:"description=a Go regular expression the event's message contains a match of"`
	Namespace string       `yaml:"namespace,omitempty" jsonschema:"description=the namespace whose events count; default stack.kubernetes.namespace (node events are in default)"`
	Min       *int         `yaml:"min,omitempty" jsonschema:"description=at least this many matching events in the window; default 1 unless max is set,minimum=0"`
	Max       *int         `yaml:"max,omitempty" jsonschema:"description=at most this many matching events in the window,minimum=0"`

	kube *targets.Kubernetes
	st   *eventsState
}

// EventObject selects the object an event is about.
type EventObject struct {
	Kind string `yaml:"kind,omitempty" jsonschema:"description=its kind e.g. Pod or ReplicaSet or Deployment or Node (any case)"`
	Name string `yaml:"name,omitempty" jsonschema:"description=a Go regular expression matching its whole name e.g. model-.*"`
}

// EventSettle is how long after its window closes an events check waits
// before it counts: the kubelet and the controllers post events a moment
// after they act.
const EventSettle = 2 * time.Second

var (
	_ Check       = (*EventsCheck)(nil)
	_ Sampler     = (*EventsCheck)(nil)
	_ KubeChecker = (*EventsCheck)(nil)
)

type eventsState struct {
	mu      sync.Mutex
	started bool
	ready   chan struct{}  // closed once the baseline is read (or could not be)
	seen    map[string]int // occurrences by event UID: at the first sample, then as the watch saw them
	occ     []occurrence   // what the watch saw happen, oldest first
}

// occurrence is n new occurrences of an event the watch saw, and when
// they arrived (zero when a list found them).
type occurrence struct {
	ev corev1.Event
	n  int
	at time.Time
}

// UseKube implements KubeChecker.
func (c *EventsCheck) UseKube(k *targets.Kubernetes) { c.kube = k }

// Validate requires a reason, regular expressions that compile and bounds
// in order.
func (c *EventsCheck) Validate() []units.Problem {
	var ps []units.Problem
	if c.Reason == "" {
		ps = append(ps, units.Problemf("reason", "is required (valid: an event reason such as Killing, Scheduled, SuccessfulCreate, BackOff, or a regular expression such as Killing|Scheduled)"))
	}
	if _, err := c.matcher(); err != nil {
		field, _, _ := strings.Cut(err.Error(), " ")
		ps = append(ps, units.Problemf(field, "%s", strings.TrimPrefix(err.Error(), field+" ")))
	}
	if c.Type != "" && c.Type != corev1.EventTypeNormal && c.Type != corev1.EventTypeWarning {
		ps = append(ps, units.Problemf("type", "unknown event type %q (valid: Normal, Warning)", c.Type))
	}
	switch {
	case c.Min != nil && *c.Min < 0:
		ps = append(ps, units.Problemf("min", "%d is negative (valid: 0 or more)", *c.Min))
	case c.Max != nil && *c.Max < 0:
		ps = append(ps, units.Problemf("max", "%d is negative (valid: 0 or more)", *c.Max))
	case c.Min != nil && c.Max != nil && *c.Min > *c.Max:
		ps = append(ps, units.Problemf("min", "%d is above max %d", *c.Min, *c.Max))
	}
	return ps
}

// Sample, at the first sample, reads the namespace's events (so an event
// seen again later counts only its new occurrences) and starts watching
// them until ctx ends, noting when each occurrence arrives: the kubelet
// and controllers stamp events to the whole second, too coarse to tell an
// event just before a window's end from one just after.
func (c *EventsCheck) Sample(ctx context.Context, _ time.Time, _ Window) {
	st := lazy(&c.st)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.started {
		return
	}
	st.started = true
	st.ready = make(chan struct{})
	go c.watch(ctx, st)
}

func (c *EventsCheck) namespace() string {
	if c.Namespace != "" || c.kube == nil {
		return c.Namespace
	}
	return c.kube.DefaultNamespace()
}

// list reads the namespace's events, a page at a time, and the resource
// version to watch from.
func (c *EventsCheck) list(ctx context.Context) ([]corev1.Event, string, error) {
	if c.kube == nil {
		return nil, "", fmt.Errorf("events check: no Kubernetes stack (set stack.kubernetes)")
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	opts := metav1.ListOptions{Limit: 500}
	var out []corev1.Event
	for {
		l, err := c.kube.API.CoreV1().Events(c.namespace()).List(ctx, opts)
		if err != nil {
			return nil, "", fmt.Errorf("list the events of namespace %q: %w", c.namespace(), err)
		}
		out = append(out, l.Items...)
		if l.Continue == "" {
			return out, l.ResourceVersion, nil
		}
		opts.Continue = l.Continue
	}
}

// occurrences is how often an event happened: its count, or its series'.
func occurrences(e corev1.Event) int {
	n := max(int(e.Count), 1)
	if e.Series != nil {
		n = max(n, int(e.Series.Count))
	}
	return n
}
