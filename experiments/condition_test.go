package experiments

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseCondition(t *testing.T) {
	tests := []struct {
		name, in string
		want     Condition
		err      string
	}{
		{"error rate", "error_rate > 50%", Condition{"error_rate", ">", 0.5}, ""},
		{"no spaces", "degraded_share>=10%", Condition{"degraded_share", ">=", 0.1}, ""},
		{"latency", "p99 > 5s", Condition{"p99", ">", 5}, ""},
		{"ttft less than", " ttft_p99 <= 250ms ", Condition{"ttft_p99", "<=", 0.25}, ""},
		{"p50 below", "p50 < 1m", Condition{"p50", "<", 60}, ""},
		{"unknown metric", "errors > 5%", Condition{}, `unknown metric "errors" in "errors > 5%" (valid: error_rate, degraded_share, p50, p95, p99, ttft_p99)`},
		{"close metric", "p90 > 5s", Condition{}, `did you mean "p50"?`},
		{"no operator", "error_rate 50%", Condition{}, `is not a condition (valid: <metric> <op> <value>`},
		{"two operators", "p99 > > 5s", Condition{}, `needs one operator and a value (valid operators: >, >=, <, <=)`},
		{"no value", "p99 >", Condition{}, `needs one operator and a value`},
		{"share given a duration", "error_rate > 5s", Condition{}, `error_rate is a share: "5s" is not a percentage`},
		{"latency given a share", "p95 > 5%", Condition{}, `p95 is a latency: "5%" is not a duration`},
		{"share out of range", "error_rate > 150%", Condition{}, `"150%" is out of range`},
		{"empty", "", Condition{}, `"" is not a condition`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCondition(tt.in)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want.Metric, got.Metric)
			assert.Equal(t, tt.want.Op, got.Op)
			assert.InDelta(t, tt.want.Value, got.Value, 1e-9)
		})
	}
}

func TestConditionHoldsAndString(t *testing.T) {
	c, err := ParseCondition("error_rate >= 50%")
	require.NoError(t, err)
	assert.True(t, c.Holds(0.5))
	assert.False(t, c.Holds(0.49))
	assert.Equal(t, "error_rate >= 50%", c.String())
	c, err = ParseCondition("p99<2s")
	require.NoError(t, err)
	assert.True(t, c.Holds(1.9))
	assert.Equal(t, "p99 < 2s", c.String())
}
