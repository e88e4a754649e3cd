package verify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Evaluate judges the last look inside the window (or looks now when there
// is none: a window shorter than a look); with within, ready on the first
// look inside the window's first within that found enough pods Ready.
func (c *PodsCheck) Evaluate(ctx context.Context, ev Evidence) Result {
	bound := c.bound()
	st := lazy(&c.st)
	st.bg.wait()
	st.mu.Lock()
	var in []podsLook
	for _, l := range st.seen {
		if !l.done.Before(ev.Window.From) && (ev.Window.To.IsZero() || l.done.Before(ev.Window.To)) {
			in = append(in, l)
		}
	}
	st.mu.Unlock()
	if len(in) == 0 {
		in = []podsLook{c.look(ctx, st)}
	}
	last := in[len(in)-1]
	if last.err != nil {
		return failed("no pods", bound, "%v", last.err)
	}
	var bad []string
	ready := last.readyPart()
	if c.Ready != nil && c.Within > 0 {
		at, l, ok := c.reached(in, ev.Window.From)
		switch {
		case ok:
			ready = fmt.Sprintf("%s after %s", l.readyPart(), fmtDur(at))
		case l.err != nil:
			bad = append(bad, fmt.Sprintf("no %d pods ready within %s: %v", *c.Ready, c.Within, l.err))
		case l.done.IsZero():
			bad = append(bad, fmt.Sprintf("no look at the pods within %s of the window's start", c.Within))
		default:
			ready = fmt.Sprintf("%s after %s (the last look within %s)", l.readyPart(), fmtDur(l.done.Sub(ev.Window.From)), c.Within)
			bad = append(bad, fmt.Sprintf("only %d of %d pods ready within %s, fewer than %d%s", l.ready, len(l.pods), c.Within, *c.Ready, notReadySuffix(l)))
		}
	} else if c.Ready != nil && last.ready < *c.Ready {
		bad = append(bad, fmt.Sprintf("%d of %d pods ready, fewer than %d%s", last.ready, len(last.pods), *c.Ready, notReadySuffix(last)))
	}
	if c.MaxRestarts != nil {
		for _, name := range slices.Sorted(maps.Keys(last.restarts)) {
			if n := last.restarts[name]; n > *c.MaxRestarts {
				bad = append(bad, fmt.Sprintf("%s restarted %d times, more than %d", name, n, *c.MaxRestarts))
			}
		}
	}
	measured := ready + "; " + last.restartPart()
	if len(bad) > 0 {
		return failed(measured, bound, "%s", strings.Join(bad, "; "))
	}
	return held(measured, bound)
}

// reached finds the first look done within c.Within of from that found
// enough pods Ready: how long after from, and the look; else the last look
// made within it (zero when there was none).
func (c *PodsCheck) reached(looks []podsLook, from time.Time) (time.Duration, podsLook, bool) {
	limit := from.Add(c.Within.D())
	var lastIn podsLook
	for _, l := range looks {
		if l.done.After(limit) {
			break
		}
		lastIn = l
		if l.err == nil && l.ready >= *c.Ready {
			return l.done.Sub(from), l, true
		}
	}
	return 0, lastIn, false
}

func (c *PodsCheck) bound() string {
	var b []string
	if c.Ready != nil {
		s := fmt.Sprintf("≥ %d pods ready", *c.Ready)
		if c.Within > 0 {
			s += " within " + c.Within.String()
		}
		b = append(b, s)
	}
	if c.MaxRestarts != nil {
		b = append(b, fmt.Sprintf("restarts ≤ %d per pod", *c.MaxRestarts))
	}
	return strings.Join(b, ", ")
}

// readyPart is how many pods one look found Ready, e.g. "2 of 3 pods
// ready (not ready: model-x (Pending))".
func (l podsLook) readyPart() string {
	if len(l.pods) == 0 {
		return "no pods"
	}
	return fmt.Sprintf("%d of %d pods ready", l.ready, len(l.pods)) + notReadySuffix(l)
}

// restartPart is the restarts one look found, e.g. "restarts: model-y 1".
func (l podsLook) restartPart() string {
	if len(l.restarts) == 0 {
		return "no restarts"
	}
	var rs []string
	for _, name := range slices.Sorted(maps.Keys(l.restarts)) {
		rs = append(rs, fmt.Sprintf("%s %d", name, l.restarts[name]))
	}
	return "restarts: " + strings.Join(firstN(rs, 8), ", ")
}

func notReadySuffix(l podsLook) string {
	if len(l.notReady) == 0 {
		return ""
	}
	return " (not ready: " + strings.Join(firstN(l.notReady, 8), ", ") + ")"
}

// firstN keeps the first n of s and says how many more there were.
func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}
