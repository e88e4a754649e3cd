package load

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestRateDividesByElapsedTime: 225,043 requests over a run that ended
// 15.02 s after its start are 14,983/s, not 225,043 / 16 s begun.
func TestRateDividesByElapsedTime(t *testing.T) {
	start := time.Unix(1000, 0)
	end := start.Add(15020 * time.Millisecond)
	k1 := ceilTick(end.Sub(start))
	assert.InDelta(t, 225043/15.02, rate(225043, start, end, 0, k1), 0.5)
	assert.InDelta(t, 100/0.5, rate(100, start, end, 10, 15), 1e-9, "a closed window counts its whole length")
	assert.Zero(t, rate(5, start, end, 3, 3))
}
