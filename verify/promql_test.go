package verify

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/internal/units"
)

// fakeProm answers /api/v1/query and /api/v1/query_range with a fixed
// result, recording the form it was asked with.
type fakeProm struct {
	mu     sync.Mutex
	asked  []url.Values
	paths  []string
	result string // the "data" object
	status int
}

func (f *fakeProm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	f.mu.Lock()
	f.asked = append(f.asked, r.Form)
	f.paths = append(f.paths, r.URL.Path)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f.status != 0 {
		w.WriteHeader(f.status)
		_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error at char 5: unexpected"}`))
		return
	}
	_, _ = w.Write([]byte(`{"status":"success","data":` + f.result + `}`))
}

func vector(values ...string) string {
	var res []map[string]any
	for i := 0; i+1 < len(values); i += 2 {
		res = append(res, map[string]any{"metric": map[string]string{"upstream": values[i]}, "value": []any{1700000000, values[i+1]}})
	}
	b, _ := json.Marshal(map[string]any{"resultType": "vector", "result": res})
	return string(b)
}

func TestPromQLCheck(t *testing.T) {
	from := time.Now().Add(-20 * time.Second)
	w := Window{Name: "slow-primary", From: from, To: from.Add(12 * time.Second)}
	one, zero := 1.0, 0.0
	matrix := `{"resultType":"matrix","result":[{"metric":{"upstream":"primary"},"values":[[1700000000,"0"],[1700000001,"1"],[1700000002,"0"]]}]}`
	tests := []struct {
		name     string
		check    PromQLCheck
		result   string
		status   int
		held     bool
		path     string
		query    string
		reason   string
		measured string
	}{
		{name: "instant holds", check: PromQLCheck{Query: NewPromQL(`max_over_time(gateway_breaker_state{upstream="primary"}[${window}])`), Min: &one},
			result: vector("primary", "1"), held: true, path: "/api/v1/query",
			query: `max_over_time(gateway_breaker_state{upstream="primary"}[12s])`, measured: `[12s]) = 1`},
		{name: "instant fails below min", check: PromQLCheck{Query: NewPromQL(`max_over_time(gateway_breaker_state[${window}])`), Min: &one},
			result: vector("primary", "0"), path: "/api/v1/query", reason: `{upstream="primary"} is 0 < 1 over slow-primary`},
		{name: "every series must hold", check: PromQLCheck{Query: NewPromQL(`x`), Max: &zero},
			result: vector("a", "0", "b", "3"), reason: `{upstream="b"} is 3 > 0`, measured: `x = {upstream="a"} 0, {upstream="b"} 3`},
		{name: "no series fails", check: PromQLCheck{Query: NewPromQL(`x`), Max: &zero},
			result: `{"resultType":"vector","result":[]}`, reason: "returned no series"},
		{name: "scalar", check: PromQLCheck{Query: NewPromQL(`scalar(x)`), Max: &one},
			result: `{"resultType":"scalar","result":[1700000000,"0.5"]}`, held: true},
		{name: "server error", check: PromQLCheck{Query: NewPromQL(`x{`), Max: &one},
			status: http.StatusBadRequest, reason: "parse error"},
		{name: "range max", check: PromQLCheck{Query: NewPromQL(`gateway_breaker_state`), Mode: QueryRange, Reduce: ReduceMax, Min: &one},
			result: matrix, held: true, path: "/api/v1/query_range"},
		{name: "range last", check: PromQLCheck{Query: NewPromQL(`gateway_breaker_state`), Mode: QueryRange, Min: &one},
			result: matrix, reason: "is 0 < 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeProm{result: tt.result, status: tt.status}
			srv := httptest.NewServer(f)
			defer srv.Close()
			c := tt.check
			c.URL = srv.URL
			require.Empty(t, c.Validate())
			r := c.Evaluate(context.Background(), Evidence{Window: w, Now: time.Now()})
			assert.Equal(t, tt.held, r.Held, "%+v", r)
			assert.Contains(t, r.Reason, tt.reason)
			assert.Contains(t, r.Measured, tt.measured)
			require.NotEmpty(t, f.asked)
			if tt.path != "" {
				assert.Equal(t, tt.path, f.paths[0])
			}
			if tt.query != "" {
				assert.Equal(t, tt.query, f.asked[0].Get("query"))
			}
			if tt.path == "/api/v1/query" {
				assert.InDelta(t, float64(w.To.UnixNano())/1e9, mustFloat(t, f.asked[0].Get("time")), 0.001, "asked at the window's end")
			}
			if tt.path == "/api/v1/query_range" {
				assert.Equal(t, "1", f.asked[0].Get("step"))
			}
		})
	}
}

func mustFloat(t *testing.T, s string) float64 {
	var f float64
	require.NoError(t, json.Unmarshal([]byte(s), &f), s)
	return f
}

func TestPromQLWaitsForTheLastScrape(t *testing.T) {
	f := &fakeProm{result: vector("primary", "1")}
	srv := httptest.NewServer(f)
	defer srv.Close()
	one := 1.0
	c := PromQLCheck{URL: srv.URL, Query: NewPromQL("x"), Min: &one, Lag: units.Duration(300 * time.Millisecond)}
	now := time.Now()
	start := time.Now()
	r := c.Evaluate(context.Background(), Evidence{Window: Window{From: now.Add(-5 * time.Second), To: now}, Now: now})
	assert.True(t, r.Held, "%+v", r)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "asked before the server could scrape the window's end")
}

func TestPromQLValidate(t *testing.T) {
	one, two := 1.0, 2.0
	for name, tc := range map[string]struct {
		c    PromQLCheck
		want string
	}{
		"no url":        {PromQLCheck{Query: NewPromQL("x"), Min: &one}, "url"},
		"no query":      {PromQLCheck{URL: "http://p:9090", Min: &one}, "query"},
		"no bound":      {PromQLCheck{URL: "http://p:9090", Query: NewPromQL("x")}, "no bound"},
		"bad mode":      {PromQLCheck{URL: "http://p:9090", Query: NewPromQL("x"), Min: &one, Mode: "matrix"}, "not a mode"},
		"reduce":        {PromQLCheck{URL: "http://p:9090", Query: NewPromQL("x"), Min: &one, Reduce: "max"}, "range only"},
		"min above max": {PromQLCheck{URL: "http://p:9090", Query: NewPromQL("x"), Min: &two, Max: &one}, "above max"},
	} {
		t.Run(name, func(t *testing.T) {
			ps := tc.c.Validate()
			require.NotEmpty(t, ps)
			assert.Contains(t, ps[0].Field+" "+ps[0].Msg, tc.want)
		})
	}
}
