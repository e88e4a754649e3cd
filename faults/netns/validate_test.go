package netns

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/units"
)

// TestNamespaceKindsValidate: each kind names the parameter it refuses, and
// the scope every kind embeds is checked with it.
func TestNamespaceKindsValidate(t *testing.T) {
	corrupt, duplicate := NewNetCorrupt(), NewNetDuplicate()
	for _, tc := range []struct {
		name  string
		f     faults.Fault
		field string
	}{
		{"latency adds nothing", &NetLatency{}, "delay"},
		{"jitter above delay", &NetLatency{Delay: units.Duration(1e6), Jitter: units.Duration(2e6)}, "jitter"},
		{"loss of nothing", &NetLoss{}, "loss"},
		{"corrupt nothing", corrupt, "corrupt"},
		{"duplicate nothing", duplicate, "duplicate"},
		{"rate that is no rate", &NetBandwidth{Rate: "fast"}, "rate"},
		{"negative burst", &NetBandwidth{Rate: "1mbit", Burst: -1}, "burst"},
		{"partition mode", &Partition{Mode: "cut"}, "mode"},
		{"dns mode", &DNS{Mode: "lie"}, "mode"},
		{"dns slow without delay", &DNS{Mode: "slow"}, "delay"},
		{"scope direction", &NetLatency{Delay: units.Duration(1e6), NetScope: NetScope{Direction: "sideways"}}, "direction"},
		{"scope protocol", &NetLoss{Loss: 0.1, NetScope: NetScope{Protocol: "sctp"}}, "protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.f.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	for _, ok := range []faults.Fault{
		&NetLatency{Delay: units.Duration(1e8)}, &NetLoss{Loss: 0.1}, &NetBandwidth{Rate: "512kbit"},
		&Partition{}, &DNS{Mode: "fail"},
	} {
		assert.Empty(t, ok.Validate(), "%T", ok)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]uint64{"1mbit": 125000, "8bit": 1, "100kbps": 100000, "125000": 125000} {
		got, err := parseRate(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0", "-1mbit", "1bit", "NaN"} {
		_, err := parseRate(bad)
		assert.Error(t, err, bad)
	}
}
