package load

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every bucket so counts can be added by index:
// microseconds from 1µs to 10 minutes at 2 significant figures (HDR
// geometry: 128 sub-buckets per power of two, under 1% error).
const (
	histMin     = 1
	histMax     = int64(10 * time.Minute / time.Microsecond)
	histSigFigs = 2
	// subHalfMag and subMask are the HDR constants of that geometry: the
	// sub-bucket count is 256 (2^ceil(log2(2·10^2))), half of it 2^7.
	subHalfMag = 7
	subMask    = 1<<(subHalfMag+1) - 1
)

// metric names one of the per-bucket distributions.
type metric int

const (
	mLatency metric = iota
	mService
	mSendLag
	mTTFTEvent
	mTTFTContent
	mInterToken
	mConnect // TCP connect time of the requests that opened a connection
	mTTFB    // from intended send to the first byte of the answer
	// mLagWaited and mOwnWaited hold, for the requests that waited in the
	// backlog for a busy worker only, their send lag and that lag less the
	// wait; OwnLag is SendLag with the first swapped for the second. The
	// common case (no backlog) stores nothing more.
	mLagWaited
	mOwnWaited
	nMetrics
)

// countsLen is the length of a dense counts array of the shared geometry.
var countsLen = len(hdr.New(histMin, histMax, histSigFigs).Export().Counts)

// histIndex is the index of us (clamped into range) in a dense counts array
// of the shared geometry: what hdrhistogram-go's RecordValue increments
// (TestHistIndexMatchesHDR holds the two together). Recording an index
// instead of into a dense histogram lets a 100 ms bucket cost a few bytes
// per request instead of 24 KB.
func histIndex(us int64) uint16 {
	if us < histMin {
		us = histMin
	} else if us > histMax {
		us = histMax
	}
	b := 64 - bits.LeadingZeros64(uint64(us)|subMask) - (subHalfMag + 1)
	sub := int(us >> uint(b))
	return uint16((b+1)<<subHalfMag + sub - 1<<subHalfMag)
}

// durIndex is histIndex of d in microseconds.
func durIndex(d time.Duration) uint16 { return histIndex(int64(d / time.Microsecond)) }

// sparse is a compacted histogram: its populated flat indexes and counts as
// varint pairs (index delta, count), about 2 bytes per populated bucket.
type sparse []byte

// addTo adds the sparse counts into a dense counts array.
func (s sparse) addTo(counts []int64) {
	idx, b := uint64(0), []byte(s)
	for len(b) > 0 {
		d, n := binary.Uvarint(b)
		c, m := binary.Uvarint(b[n:])
		b = b[n+m:]
		idx += d
		counts[idx] += int64(c)
	}
}

// appendSparse appends the sparse form of the recorded indexes vals (sorted
// in place) merged with old, a sparse histogram (nil for none).
func appendSparse(buf []byte, vals []uint16, old sparse) []byte {
	if len(old) > 0 {
		counts := make([]int64, countsLen)
		old.addTo(counts)
		for _, v := range vals {
			counts[v]++
		}
		last := 0
		for i, c := range counts {
			if c > 0 {
				buf = binary.AppendUvarint(buf, uint64(i-last))
				buf = binary.AppendUvarint(buf, uint64(c))
				last = i
			}
		}
		return buf
	}
	slices.Sort(vals)
	last := 0
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && vals[j] == vals[i] {
			j++
		}
		buf = binary.AppendUvarint(buf, uint64(int(vals[i])-last))
		buf = binary.AppendUvarint(buf, uint64(j-i))
		last = int(vals[i])
		i = j
	}
	return buf
}

// quantilesOf reads the summary quantiles of dense counts (nil: none).
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
