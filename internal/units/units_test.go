package units

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDurationUnmarshal: a duration that int64 nanoseconds cannot hold says
// it overflows and names the longest duration, instead of wrapping or
// calling it "not a duration".
func TestDurationUnmarshal(t *testing.T) {
	tests := []struct {
		name, text string
		want       time.Duration
		err        string
	}{
		{"seconds", "2s", 2 * time.Second, ""},
		{"compound", " 1m30s ", 90 * time.Second, ""},
		{"zero", "0", 0, ""},
		{"the longest", "100000h", 100_000 * time.Hour, ""},
		{"hours overflow", "9999999999h", 0, `"9999999999h" overflows: the longest duration is 100000h (about 11 years)`},
		{"seconds overflow", "300000000000000s", 0, `"300000000000000s" overflows: the longest duration is 100000h`},
		{"a part overflows", "1h99999999999999999999ns", 0, `overflows`},
		{"fits int64, too long", "2000000h", 0, `"2000000h" is too long: the longest duration is 100000h (about 11 years)`},
		{"just over the longest", "100000h1ns", 0, `is too long`},
		{"negative", "-2s", 0, `"-2s" is negative`},
		{"negative overflow", "-9999999999h", 0, `"-9999999999h" is negative`},
		{"no unit", "5", 0, `"5" is not a duration`},
		{"two dots", "1.5.5s", 0, `"1.5.5s" is not a duration`},
		{"words", "forever", 0, `"forever" is not a duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Duration
			err := d.UnmarshalText([]byte(tt.text))
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, d.D())
		})
	}
}

func TestAdd(t *testing.T) {
	tests := []struct {
		name string
		ds   []Duration
		want Duration
		ok   bool
	}{
		{"none", nil, 0, true},
		{"at + for", []Duration{Duration(time.Minute), Duration(30 * time.Second)}, Duration(90 * time.Second), true},
		{"up to the longest", []Duration{MaxDuration - 1, 1}, MaxDuration, true},
		{"past the longest", []Duration{MaxDuration, 1}, MaxDuration, false},
		{"many longest", []Duration{MaxDuration, MaxDuration, MaxDuration}, MaxDuration, false},
		{"a negative", []Duration{-1}, MaxDuration, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Add(tt.ds...)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.ok, ok)
		})
	}
}
