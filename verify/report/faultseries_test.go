package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exhaustFixture is the fixture with an exhaust fault whose server closed
// some of its connections and refused some opens.
func exhaustFixture() *Report {
	r := fixture()
	r.Faults = append(r.Faults, FaultReport{Name: "idle-connections", Kind: "exhaust", Targets: []string{"gateway-0"},
		Mechanism: "exhaust", Start: 4, End: 7, Injected: true, Series: []FaultPoint{
			{T: 5, Addr: "127.0.0.1:8080", Held: 64},
			{T: 6, Addr: "127.0.0.1:8080", Held: 30, Reset: 34},
			{T: 7, Addr: "127.0.0.1:8080", Held: 60, Refused: 2, Reset: 10},
		}})
	return r
}

func TestFaultSeriesSummary(t *testing.T) {
	f := exhaustFixture().Faults[1]
	assert.Equal(t, []string{"idle-connections (exhaust 127.0.0.1:8080): held 60 at the end (min 30, max 64); 2 refused, 44 reset over 3 s"},
		f.SeriesSummary())
	assert.Empty(t, fixture().Faults[0].SeriesSummary(), "a fault that measures nothing has no line")

	var b bytes.Buffer
	PrintSummary(&b, exhaustFixture())
	assert.Contains(t, b.String(), "\n  fault idle-connections (exhaust 127.0.0.1:8080): held 60 at the end")
}

func TestFaultSeriesJSONAndHTML(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteJSON(&b, exhaustFixture()))
	assert.Contains(t, b.String(), `"series": [`)
	assert.Contains(t, b.String(), `"t_s": 6,`)
	var back Report
	require.NoError(t, json.Unmarshal(b.Bytes(), &back))
	assert.Equal(t, exhaustFixture().Faults[1].Series, back.Faults[1].Series, "round trip")
	assert.NotContains(t, strings.SplitN(b.String(), `"idle-connections"`, 2)[0], `"series": [`, "a fault without one writes none")

	b.Reset()
	require.NoError(t, WriteHTML(&b, exhaustFixture()))
	page := b.String()
	assert.Contains(t, page, "Connections held by idle-connections (exhaust)")
	assert.Contains(t, page, "reset /s")
	assert.NotContains(t, page, "NaN")
}
