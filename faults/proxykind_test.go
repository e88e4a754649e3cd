package faults

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProxyKindValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     Fault
		field string
	}{
		{"share 0", &TTFB{Delay: 1e9}, "share"},
		{"bad direction", &Bandwidth{RateKB: 1, Share: Share{1}, Direction: Direction{"sideways"}}, "direction"},
		{"stall without for", &StreamStall{After: 1, Share: Share{1}}, "for"},
		{"negative after", &StreamCut{After: -1, Share: Share{1}}, "after"},
		{"slicer variation", &Slicer{AverageSize: 4, SizeVariation: 4, Share: Share{1}}, "size_variation"},
		{"200 without corrupt", &HTTPError{Status: 200, Share: Share{1}}, "status"},
		{"fail-first count", &FailFirst{Status: 503}, "count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.f.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	assert.Empty(t, (&HTTPError{Status: 200, Corrupt: "malformed", Share: Share{1}}).Validate())
}
