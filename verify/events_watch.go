package verify

import (
	"cmp"
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
)

// watch reads the baseline, then follows the namespace's events until ctx
// ends, watching again where a watch ended and listing again when it fell
// too far behind (what it missed is then judged by its timestamps).
func (c *EventsCheck) watch(ctx context.Context, st *eventsState) {
	evs, rv, err := c.list(ctx)
	st.mu.Lock()
	if err == nil {
		st.seen = map[string]int{}
		for _, e := range evs {
			st.seen[string(e.UID)] = occurrences(e)
		}
	}
	st.mu.Unlock()
	close(st.ready)
	if err != nil {
		return
	}
	for ctx.Err() == nil {
		if rv == "" {
			evs, rv, err = c.list(ctx)
			if err != nil {
				rv = ""
				pause(ctx, time.Second)
				continue
			}
			for _, e := range evs {
				st.note(e, time.Time{}) // when is not known: its timestamps say
			}
		}
		w, err := c.kube.API.CoreV1().Events(c.namespace()).Watch(ctx, metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true})
		if err != nil {
			pause(ctx, time.Second)
			continue
		}
		rv = st.follow(ctx, w, rv)
		w.Stop()
	}
}

// follow notes every event w delivers until it ends or ctx does; it
// returns the resource version to watch from next, "" to list again.
func (st *eventsState) follow(ctx context.Context, w watch.Interface, rv string) string {
	for {
		select {
		case <-ctx.Done():
			return rv
		case ev, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				if e, ok := ev.Object.(*corev1.Event); ok {
					st.note(*e, time.Now())
					rv = e.ResourceVersion
				}
			case watch.Bookmark:
				if m, err := meta.Accessor(ev.Object); err == nil {
					rv = m.GetResourceVersion()
				}
			case watch.Error:
				return "" // expired (410 Gone) or failed: list again
			}
		}
	}
}

// note records the occurrences of e not seen before, arrived at at (zero:
// found by a list, when is not known).
func (st *eventsState) note(e corev1.Event, at time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.seen == nil {
		st.seen = map[string]int{}
	}
	uid := string(e.UID)
	n := occurrences(e)
	if d := n - st.seen[uid]; d > 0 {
		st.occ = append(st.occ, occurrence{ev: e, n: d, at: at})
		st.seen[uid] = n
	}
}

// in reports whether the occurrence happened in w: by the event's own time
// when it has microseconds; else it happened in the second of its stamp
// and no later than it arrived, so when it arrived within that second its
// arrival says when, and otherwise the second counts as in w when it
// overlaps w.
func (o occurrence) in(w Window) bool {
	if t := microTime(o.ev); !t.IsZero() {
		return !t.Before(w.From) && t.Before(w.To)
	}
	stamp := cmp.Or(o.ev.LastTimestamp.Time, o.ev.FirstTimestamp.Time, o.ev.CreationTimestamp.Time)
	if !o.at.IsZero() && o.at.Before(stamp.Add(time.Second)) {
		return !o.at.Before(w.From) && o.at.Before(w.To)
	}
	return stamp.Add(time.Second).After(w.From) && stamp.Before(w.To)
}

// microTime is an event's time to the microsecond (an events.k8s.io event:
// its last observation in a series, else its event time), zero for events
// stamped to the whole second.
func microTime(e corev1.Event) time.Time {
	if e.Series != nil && !e.Series.LastObservedTime.IsZero() {
		return e.Series.LastObservedTime.Time
	}
	return e.EventTime.Time
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
