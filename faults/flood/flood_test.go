package flood

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/targets"
)

func TestFloodValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(f *Flood)
		field string
	}{
		{"no rate", func(f *Flood) { f.Rate = 0 }, "rate"},
		{"rate above the cap", func(f *Flood) { f.Rate = 60000 }, "rate"},
		{"no connections", func(f *Flood) { f.Connections = 0 }, "connections"},
		{"shares short of 100%", func(f *Flood) { f.Classes = []FloodClass{{Name: "low", Share: 0.5}} }, "classes"},
		{"body that is no JSON", func(f *Flood) { f.Body = map[string]any{"c": make(chan int)} }, "body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := New()
			tc.edit(f)
			ps := f.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	assert.Empty(t, New().Validate(), "defaults are valid")
}

// TestFloodSendsUntilRollback: the flood reaches the target's URL while on,
// and stops at rollback.
func TestFloodSendsUntilRollback(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer srv.Close()
	env, j := faultstest.Env(t, targets.Target{Name: "gateway", URL: srv.URL})
	env.For = time.Minute
	f := New()
	f.Rate = 200
	require.NoError(t, f.Inject(context.Background(), env))
	require.Len(t, j.Pending(), 1, "journaled")
	assert.Eventually(t, func() bool { return n.Load() >= 5 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, f.Rollback(context.Background()))
	sent := n.Load()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, sent, n.Load(), "nothing is sent after rollback")
	assert.Empty(t, j.Pending())
}
