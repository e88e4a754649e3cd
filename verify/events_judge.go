package verify

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// Evaluate counts the matching events that happened in the window: those
// the watch saw arrive in it, and (after EventSettle, so the last ones have
// been posted) those it did not see, by their timestamps.
func (c *EventsCheck) Evaluate(ctx context.Context, ev Evidence) Result {
	bound := c.bound()
	if r, bad := windowProblem(ev.Window, "", bound); bad {
		return r
	}
	pause(ctx, time.Until(ev.Window.To.Add(EventSettle)))
	st := lazy(&c.st)
	st.mu.Lock()
	ready := st.ready
	st.mu.Unlock()
	if ready != nil {
		select {
		case <-ready:
		case <-ctx.Done():
		}
	}
	st.mu.Lock()
	occ, seen := slices.Clone(st.occ), maps.Clone(st.seen)
	st.mu.Unlock()
	evs, _, err := c.list(ctx)
	if err != nil {
		return failed("no events", bound, "%v", err)
	}
	match, err := c.matcher()
	if err != nil {
		return failed("", bound, "%v", err)
	}
	matched, others := map[string]int{}, map[string]int{}
	n := 0
	count := func(e corev1.Event, k int) {
		if k == 0 {
			return
		}
		if !match(e) {
			others[e.Reason] += k
			return
		}
		matched[fmt.Sprintf("%s %s/%s", e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name)] += k
		n += k
	}
	for _, o := range occ {
		if o.in(ev.Window) {
			count(o.ev, o.n)
		}
	}
	for _, e := range evs { // what the watch did not see (it stopped, or never ran)
		if occurrences(e) > seen[string(e.UID)] {
			count(e, inWindow(e, seen, ev.Window))
		}
	}
	measured := fmt.Sprintf("%d matching events", n)
	if n > 0 {
		measured += ": " + counted(matched)
	}
	min := c.min()
	switch {
	case n < min:
		return failed(measured, bound, "%d matching events in %s, fewer than %d (%s)", n, ev.Window, min, otherEvents(others))
	case c.Max != nil && n > *c.Max:
		return failed(measured, bound, "%d matching events in %s, more than %d", n, ev.Window, *c.Max)
	}
	return held(measured, bound)
}

func (c *EventsCheck) min() int {
	switch {
	case c.Min != nil:
		return *c.Min
	case c.Max != nil:
		return 0
	}
	return 1
}

// matcher matches an event against the reason, object, type and message
// (the regular expressions of reason and object name match whole).
func (c *EventsCheck) matcher() (func(corev1.Event) bool, error) {
	whole := func(field, re string) (*regexp.Regexp, error) {
		if re == "" {
			return nil, nil
		}
		if _, err := regexp.Compile(re); err != nil {
			return nil, fmt.Errorf("%s %q is not a regular expression: %w (valid: a Go regular expression, e.g. Killing|Scheduled)", field, re, err)
		}
		return regexp.Compile(`^(?:` + re + `)$`)
	}
	reason, err := whole("reason", c.Reason)
	if err != nil {
		return nil, err
	}
	var name, message *regexp.Regexp
	kind := ""
	if c.Object != nil {
		kind = c.Object.Kind
		if name, err = whole("object.name", c.Object.Name); err != nil {
			return nil, err
		}
	}
	if c.Message != "" {
		if message, err = regexp.Compile(c.Message); err != nil {
			return nil, fmt.Errorf("message %q is not a regular expression: %w (valid: a Go regular expression, e.g. Stopping container)", c.Message, err)
		}
	}
	return func(e corev1.Event) bool {
		return (reason == nil || reason.MatchString(e.Reason)) &&
			(kind == "" || strings.EqualFold(kind, e.InvolvedObject.Kind)) &&
			(name == nil || name.MatchString(e.InvolvedObject.Name)) &&
			(c.Type == "" || c.Type == e.Type) &&
			(message == nil || message.MatchString(e.Message))
	}, nil
}

// inWindow is how many of an event's occurrences fall in w: every one when
// it was first seen in w; when it was seen before (at the run's first
// sample, or first before the window) and last seen in w, those not seen
// before (at least one). Timestamps of whole seconds count as anywhere in
// that second.
func inWindow(e corev1.Event, base map[string]int, w Window) int {
	first := cmp.Or(e.EventTime.Time, e.FirstTimestamp.Time, e.CreationTimestamp.Time)
	last := cmp.Or(e.LastTimestamp.Time, first)
	if e.Series != nil && e.Series.LastObservedTime.After(last) {
		last = e.Series.LastObservedTime.Time
	}
	in := func(t time.Time) bool {
		from := w.From
		if t.Nanosecond() == 0 {
			from = from.Truncate(time.Second)
		}
		return !t.Before(from) && t.Before(w.To)
	}
	n := occurrences(e)
	switch b, seen := base[string(e.UID)]; {
	case !in(last) && !in(first):
		return 0
	case seen:
		return max(n-b, 0)
	case in(first) && in(last):
		return n
	case in(first):
		return 1
	}
	return max(n-1, 1)
}

func (c *EventsCheck) bound() string {
	var on []string
	on = append(on, "reason "+c.Reason)
	if c.Object != nil && (c.Object.Kind != "" || c.Object.Name != "") {
		on = append(on, "object "+cmp.Or(c.Object.Kind, "any")+"/"+cmp.Or(c.Object.Name, ".*"))
	}
	if c.Type != "" {
		on = append(on, "type "+c.Type)
	}
	if c.Message != "" {
		on = append(on, fmt.Sprintf("message ~ %q", c.Message))
	}
	what := "events (" + strings.Join(on, ", ") + ")"
	switch {
	case c.Max != nil && c.min() > 0:
		return fmt.Sprintf("%d to %d %s", c.min(), *c.Max, what)
	case c.Max != nil:
		return fmt.Sprintf("≤ %d %s", *c.Max, what)
	}
	return fmt.Sprintf("≥ %d %s", c.min(), what)
}

// counted prints occurrences by what, most first: "Killing Pod/a ×2, …".
func counted(m map[string]int) string {
	keys := slices.Sorted(maps.Keys(m))
	slices.SortStableFunc(keys, func(a, b string) int { return m[b] - m[a] })
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		s := k
		if m[k] > 1 {
			s += fmt.Sprintf(" ×%d", m[k])
		}
		out = append(out, s)
	}
	return strings.Join(firstN(out, 8), ", ")
}

// otherEvents says which events did happen in the window, by reason.
func otherEvents(m map[string]int) string {
	if len(m) == 0 {
		return "no other events in the window either"
	}
	return "events in the window by reason: " + counted(m)
}
