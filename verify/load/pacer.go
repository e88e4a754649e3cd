package load

import (
	"math"
	"time"
)

// segment is one piece of the schedule: a rate moving linearly from r0 to r1
// over dur (dur 0 = forever at r0), starting at offset start from time zero.
// Hit j of the segment is due when the integral of the rate since start
// reaches j + phase, so pieces join without gaps or double hits.
type segment struct {
	start  time.Duration
	dur    time.Duration
	r0, r1 float64
}

// pacer turns a list of stages into intended send offsets. It is used by one
// goroutine only; Generator.SetRate reaches it through the pacer loop.
type pacer struct {
	segs  []segment
	i     int     // current segment
	j     float64 // next hit index within the current segment
	phase float64 // rate-mass before the first hit of the current segment
}

// newPacer builds the schedule from stages; an empty list means rate 0.
func newPacer(stages []Stage) *pacer {
	p := &pacer{}
	var at time.Duration
	for i, s := range stages {
		seg := segment{start: at, dur: s.For, r0: s.Rate, r1: s.Rate}
		if s.RampTo > 0 {
			seg.r1 = s.RampTo
		}
		if i == len(stages)-1 && s.For > 0 {
			p.segs = append(p.segs, seg)
			seg = segment{start: at + s.For, r0: seg.r1, r1: seg.r1}
		}
		if seg.dur == 0 {
			seg.r1 = seg.r0
		}
		p.segs = append(p.segs, seg)
		at += s.For
	}
	if len(p.segs) == 0 {
		p.segs = []segment{{r0: 0, r1: 0}}
	}
	return p
}

// setRate replaces the rest of the schedule by a constant rate from offset now.
func (p *pacer) setRate(now time.Duration, r float64) {
	p.segs = []segment{{start: now, r0: r, r1: r}}
	p.i, p.j, p.phase = 0, 0, 0
}

// next returns the intended offset of the next hit without consuming it;
// ok is false when the schedule has ended in a rate of 0.
func (p *pacer) next() (at time.Duration, ok bool) {
	for {
		s := &p.segs[p.i]
		m := p.j + p.phase // rate-mass since s.start at which the hit is due
		t, in := s.timeOf(m)
		if in {
			return s.start + t, true
		}
		if s.dur == 0 { // open-ended at rate 0
			return 0, false
		}
		// Carry the unreached mass into the next segment.
		p.phase = m - s.mass()
		p.i++
		p.j = 0
	}
}

// advance consumes the hit returned by next.
func (p *pacer) advance() { p.j++ }

// mass is the number of hits the segment holds (the integral of its rate).
func (s *segment) mass() float64 {
	return (s.r0 + s.r1) / 2 * s.dur.Seconds()
}

// timeOf solves r0·t + (r1−r0)·t²/(2·dur) = m for t; in is false when m is
// not reached inside the segment.
func (s *segment) timeOf(m float64) (time.Duration, bool) {
	var sec float64
	if s.r0 == s.r1 || s.dur == 0 {
		if s.r0 <= 0 {
			return 0, false
		}
		sec = m / s.r0
	} else {
		a := (s.r1 - s.r0) / s.dur.Seconds()
		disc := s.r0*s.r0 + 2*a*m
		if disc < 0 {
			return 0, false
		}
		sec = (math.Sqrt(disc) - s.r0) / a
	}
	t := time.Duration(sec * float64(time.Second))
	if s.dur > 0 && t >= s.dur {
		return 0, false
	}
	return t, true
}
