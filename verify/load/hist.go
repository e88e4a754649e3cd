package load

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every bucket so counts can be added by index:
// microseconds from 1µs to 10 minutes at 2 significant figures (≈24 KB dense).
const (
	histMin     = 1
	histMax     = int64(10 * time.Minute / time.Microsecond)
	histSigFigs = 2
)

// metric names one of the per-bucket histograms.
type metric int

const (
	mLatency metric = iota
	mService
	mSendLag
	mTTFTEvent
	mTTFTContent
	mInterToken
	nMetrics
)

// histPool recycles dense histograms freed by compaction.
var histPool = sync.Pool{New: func() any { return hdr.New(histMin, histMax, histSigFigs) }}

// countsLen is the length of a dense counts array of the shared geometry.
var countsLen = len(hdr.New(histMin, histMax, histSigFigs).Export().Counts)

// sparse is a compacted histogram: the populated flat indexes and their counts.
type sparse struct {
	idx []uint16
	cnt []uint32
}

// addTo adds the sparse counts into a dense counts array.
func (s *sparse) addTo(counts []int64) {
	for i, x := range s.idx {
		counts[x] += int64(s.cnt[i])
	}
}

// fromDense replaces s with the non-zero entries of counts.
func (s *sparse) fromDense(counts []int64) {
	n := 0
	for _, c := range counts {
		if c != 0 {
			n++
		}
	}
	s.idx, s.cnt = make([]uint16, 0, n), make([]uint32, 0, n)
	for i, c := range counts {
		for c > 0 { // counts above 2³²−1 are split over repeated entries
			part := min(c, int64(^uint32(0)))
			s.idx = append(s.idx, uint16(i))
			s.cnt = append(s.cnt, uint32(part))
			c -= part
		}
	}
}

// bytes is the memory held by s.
func (s *sparse) bytes() int { return cap(s.idx)*2 + cap(s.cnt)*4 }

// recordDur records d in microseconds, clamped into the histogram's range.
func recordDur(h *hdr.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histMin {
		us = histMin
	} else if us > histMax {
		us = histMax
	}
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

// quantilesOf reads the summary quantiles of dense counts.
func quantilesOf(counts []int64) Quantiles {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 {
		return Quantiles{}
	}
	h := hdr.Import(&hdr.Snapshot{
		LowestTrackableValue:  histMin,
		HighestTrackableValue: histMax,
		SignificantFigures:    histSigFigs,
		Counts:                counts,
	})
	v := h.ValueAtPercentilesSlice([]float64{50, 90, 95, 99})
	us := func(x int64) time.Duration { return time.Duration(x) * time.Microsecond }
	return Quantiles{P50: us(v[0]), P90: us(v[1]), P95: us(v[2]), P99: us(v[3]), Max: us(h.Max()), Count: total}
}
