package verify

import (
	"sync"
	"time"
)

// observed is the run state of a check that counts restarts from the first
// sample and looks again, about every ObserveEvery, while its window is
// open (the container and pods checks): T is one look.
type observed[T any] struct {
	bg       background
	mu       sync.Mutex
	base     map[string]int // restart counts at the first sample, by the check's key
	baseDone bool
	seen     []T // looks inside the window, oldest first
}

// sample is such a check's Sampler.Sample: baseline (in the background) at
// the first sample, then, while w is open, look, keeping what it returns
// unless ok is false.
func (st *observed[T]) sample(now time.Time, w Window, baseline func(), look func() (l T, ok bool)) {
	st.mu.Lock()
	needBase := !st.baseDone
	st.baseDone = true
	st.mu.Unlock()
	if needBase {
		st.bg.start(now, 0, baseline)
		return
	}
	if w.From.IsZero() || now.Before(w.From) || (!w.To.IsZero() && !now.Before(w.To)) {
		return
	}
	st.bg.start(now, ObserveEvery, func() {
		l, ok := look()
		if !ok {
			return
		}
		st.mu.Lock()
		st.seen = append(st.seen, l)
		st.mu.Unlock()
	})
}
