package connection

import (
	"slices"
	"time"
)

// ExhaustPoint is one second of an exhaust fault on one address: the
// connections held at its end, the opens refused or timed out during it,
// and the held connections the server closed or reset during it.
type ExhaustPoint struct {
	Time    time.Time `json:"time"`
	Addr    string    `json:"addr"`
	Held    int       `json:"held"`
	Refused int       `json:"refused"`
	Reset   int       `json:"reset"`
}

// ExhaustSeries is an optional ability of a fault: the per-second series of
// the connections it holds, so a report can show whether the server was
// really held at N or fought back. The engine finds it by type assertion.
type ExhaustSeries interface {
	// Series returns the points so far, oldest first (safe during the run).
	Series() []ExhaustPoint
}

var _ ExhaustSeries = (*Exhaust)(nil)

// Series implements ExhaustSeries: every target's points, by time.
func (f *Exhaust) Series() []ExhaustPoint {
	f.mu.Lock()
	holds := slices.Clone(f.holds)
	f.mu.Unlock()
	var out []ExhaustPoint
	for _, h := range holds {
		out = append(out, h.points()...)
	}
	slices.SortStableFunc(out, func(a, b ExhaustPoint) int { return a.Time.Compare(b.Time) })
	return out
}

// sample records a point each tick.
func (h *hold) sample() {
	defer h.wg.Done()
	t := time.NewTicker(h.tick)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case now := <-t.C:
			h.mu.Lock()
			h.point(now)
			h.mu.Unlock()
		}
	}
}

// point appends the point of the period ending at now; h.mu is held.
func (h *hold) point(now time.Time) {
	h.series = append(h.series, ExhaustPoint{Time: now, Addr: h.addr, Held: len(h.conns), Refused: h.refused, Reset: h.reset})
	h.refused, h.reset = 0, 0
}

func (h *hold) points() []ExhaustPoint {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.series)
}
