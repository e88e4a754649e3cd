package load

import (
	"encoding/binary"
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

// sparse is a compacted histogram: its populated flat indexes and counts as
// varint pairs (index delta, count), about 2 bytes per populated bucket.
type sparse struct{ b []byte }

// addTo adds the sparse counts into a dense counts array.
func (s *sparse) addTo(counts []int64) {
	idx, b := uint64(0), s.b
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		c, m := binary.Uvarint(b[n:])
		b = b[n+m:]
		idx += d
		counts[idx] += int64(c)
	}
}

// fromDense replaces s with the non-zero entries of counts.
func (s *sparse) fromDense(counts []int64) {
	var buf []byte
	last := 0
	for i, c := range counts {
		if c > 0 {
			buf = binary.AppendUvarint(buf, uint64(i-last))
			buf = binary.AppendUvarint(buf, uint64(c))
			last = i
		}
	}
	s.b = append([]byte(nil), buf...) // exact size
}

// bytes is the memory held by s.
func (s *sparse) bytes() int { return cap(s.b) }

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
