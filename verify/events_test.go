package verify

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// These tests count events written by hand; events_cluster_test.go counts
// the real test cluster's.

func TestEventsCheckValidate(t *testing.T) {
	n := func(v int) *int { return &v }
	tests := []struct {
		name  string
		check EventsCheck
		want  string
	}{
		{"reason", EventsCheck{Reason: "Killing"}, ""},
		{"everything", EventsCheck{Reason: "Killing|Scheduled", Object: &EventObject{Kind: "pod", Name: "model-.*"}, Type: "Normal", Message: "Stopping", Min: n(1), Max: n(3)}, ""},
		{"no reason", EventsCheck{}, "reason: is required"},
		{"bad reason", EventsCheck{Reason: "Kill("}, `reason: "Kill(" is not a regular expression`},
		{"bad name", EventsCheck{Reason: "Killing", Object: &EventObject{Name: "["}}, `object.name: "[" is not a regular expression`},
		{"bad message", EventsCheck{Reason: "Killing", Message: "("}, `message: "(" is not a regular expression`},
		{"bad type", EventsCheck{Reason: "Killing", Type: "Error"}, `type: unknown event type "Error" (valid: Normal, Warning)`},
		{"negative min", EventsCheck{Reason: "Killing", Min: n(-1)}, "min: -1 is negative"},
		{"min above max", EventsCheck{Reason: "Killing", Min: n(2), Max: n(1)}, "min: 2 is above max 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertProblem(t, tc.check.Validate(), tc.want) })
	}
}

// TestEventsInWindow: which occurrences of an event fall in a window, by
// its timestamps (whole seconds from the kubelet and controllers, micro-
// seconds from the scheduler) and its count against the run's first look.
func TestEventsInWindow(t *testing.T) {
	from := time.Date(2026, 12, 1, 10, 0, 0, 500_000_000, time.UTC) // +0.5 s
	w := Window{From: from, To: from.Add(10 * time.Second)}
	sec := func(d time.Duration) metav1.Time { return metav1.NewTime(from.Add(d).Truncate(time.Second)) }
	micro := func(d time.Duration) metav1.MicroTime { return metav1.NewMicroTime(from.Add(d)) }
	old := func(uid string, first, last metav1.Time, count int32) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, FirstTimestamp: first, LastTimestamp: last, Count: count}
	}
	base := map[string]int{"seen": 2}
	tests := []struct {
		name string
		ev   corev1.Event
		want int
	}{
		{"once, inside", old("a", sec(2*time.Second), sec(2*time.Second), 1), 1},
		{"once, in the window's first second (whole seconds)", old("a", sec(-300*time.Millisecond), sec(-300*time.Millisecond), 1), 1},
		{"once, the second before", old("a", sec(-time.Second), sec(-time.Second), 1), 0},
		{"once, after", old("a", sec(11*time.Second), sec(11*time.Second), 1), 0},
		{"three times, inside", old("a", sec(time.Second), sec(5*time.Second), 3), 3},
		{"three times, from before", old("a", sec(-5*time.Second), sec(5*time.Second), 3), 2},
		{"three times, until after", old("a", sec(time.Second), sec(15*time.Second), 3), 1},
		{"seen at the first look, twice more since", old("seen", sec(-60*time.Second), sec(5*time.Second), 4), 2},
		{"scheduler event (microseconds), inside", corev1.Event{EventTime: micro(time.Second)}, 1},
		{"scheduler event (microseconds), just before", corev1.Event{EventTime: micro(-100 * time.Millisecond)}, 0},
		{"a series", corev1.Event{EventTime: micro(time.Second), Series: &corev1.EventSeries{Count: 4, LastObservedTime: micro(3 * time.Second)}}, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, inWindow(tc.ev, base, w)) })
	}
}

func TestEventsMatcherAndBound(t *testing.T) {
	ev := func(reason, kind, name, typ, msg string) corev1.Event {
		return corev1.Event{Reason: reason, Type: typ, Message: msg, InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name}}
	}
	c := &EventsCheck{Reason: "Killing|Scheduled", Object: &EventObject{Kind: "pod", Name: "model-.*"}, Type: "Normal", Message: "container"}
	m, err := c.matcher()
	require.NoError(t, err)
	assert.True(t, m(ev("Killing", "Pod", "model-1", "Normal", "Stopping container model")))
	assert.False(t, m(ev("KillingSoon", "Pod", "model-1", "Normal", "Stopping container model")), "the reason matches whole")
	assert.False(t, m(ev("Killing", "ReplicaSet", "model-1", "Normal", "Stopping container model")), "another kind")
	assert.False(t, m(ev("Killing", "Pod", "gateway-model-1", "Normal", "Stopping container model")), "the name matches whole")
	assert.False(t, m(ev("Killing", "Pod", "model-1", "Warning", "Stopping container model")), "another type")
	assert.False(t, m(ev("Killing", "Pod", "model-1", "Normal", "Stopping")), "another message")
	assert.Equal(t, `≥ 1 events (reason Killing|Scheduled, object pod/model-.*, type Normal, message ~ "container")`, c.bound())
	n := func(v int) *int { return &v }
	assert.Equal(t, "≤ 0 events (reason BackOff)", (&EventsCheck{Reason: "BackOff", Max: n(0)}).bound())
	assert.Equal(t, "2 to 5 events (reason BackOff)", (&EventsCheck{Reason: "BackOff", Min: n(2), Max: n(5)}).bound())
	assert.Equal(t, "Killing Pod/b ×2, Killing Pod/a", counted(map[string]int{"Killing Pod/a": 1, "Killing Pod/b": 2}))
}

// TestEventsNote: the watch records only new occurrences, with when they
// arrived.
func TestEventsNote(t *testing.T) {
	t1 := time.Date(2026, 12, 1, 10, 0, 3, 0, time.UTC)
	ev := func(uid string, count int32) corev1.Event {
		return corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Count: count}
	}
	st := &eventsState{seen: map[string]int{"a": 2}}
	st.note(ev("a", 3), t1)
	st.note(ev("a", 3), t1.Add(time.Second)) // the same count again: nothing new
	st.note(ev("b", 0), t1)
	st.note(ev("c", 1), time.Time{})
	assert.Equal(t, []occurrence{{ev: ev("a", 3), n: 1, at: t1}, {ev: ev("b", 0), n: 1, at: t1}, {ev: ev("c", 1), n: 1}}, st.occ)
	assert.Equal(t, map[string]int{"a": 3, "b": 1, "c": 1}, st.seen)
}

// TestOccurrenceIn: when an occurrence the watch saw happened: the
// scheduler's microseconds; for a stamp of whole seconds, its arrival when
// it came within that second, else the second overlapping the window.
func TestOccurrenceIn(t *testing.T) {
	to := time.Date(2026, 12, 1, 10, 0, 5, 700_000_000, time.UTC) // a window ends at 05.7
	w := Window{From: to.Add(-10 * time.Second), To: to}
	sec := metav1.NewTime(to.Truncate(time.Second)) // 05
	at := func(d time.Duration) time.Time { return to.Add(d) }
	stamped := corev1.Event{LastTimestamp: sec}
	tests := []struct {
		name string
		o    occurrence
		want bool
	}{
		{"microseconds, just after", occurrence{ev: corev1.Event{EventTime: metav1.NewMicroTime(at(time.Millisecond))}, at: at(-time.Second)}, false},
		{"microseconds, just before", occurrence{ev: corev1.Event{EventTime: metav1.NewMicroTime(at(-time.Millisecond))}, at: at(time.Second)}, true},
		{"stamped 05, arrived 05.8: after (a rollback's own event)", occurrence{ev: stamped, at: at(100 * time.Millisecond)}, false},
		{"stamped 05, arrived 05.6: in", occurrence{ev: stamped, at: at(-100 * time.Millisecond)}, true},
		{"stamped 05, arrived late at 06.5: the second overlaps", occurrence{ev: stamped, at: at(800 * time.Millisecond)}, true},
		{"stamped 06, arrived late: after", occurrence{ev: corev1.Event{LastTimestamp: metav1.NewTime(sec.Add(time.Second))}, at: at(2 * time.Second)}, false},
		{"stamped 05, found by a list: the second overlaps", occurrence{ev: stamped}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assert.Equal(t, tc.want, tc.o.in(w)) })
	}
}
