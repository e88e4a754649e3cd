package load

import (
	"context"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPacingAccuracy(t *testing.T) {
	srv := newConnServer(t, okJSON)
	g := runGen(t, Config{URL: srv.URL, Stages: []Stage{{Rate: 200}}, MaxDuration: 2 * time.Second})
	st := g.Stats()
	if math.Abs(float64(st.Sent)-400) > 8 {
		t.Fatalf("sent %d over 2s at 200/s, want 400 ±2%%", st.Sent)
	}
	s := all(g, "")
	if s.Completed != st.Sent || s.OK != s.Completed || s.Tokens != 3*s.Completed {
		t.Fatalf("summary %+v does not match stats %+v", s, st)
	}
	if secs := g.Timeline().Seconds(""); len(secs) != 2 || math.Abs(float64(secs[1].Completed)-200) > 4 {
		t.Fatalf("Seconds: %d seconds, want 2 of ~200 requests", len(secs))
	}
}

func TestStagesAndSetRate(t *testing.T) {
	srv := newConnServer(t, okJSON)
	g, err := New(Config{URL: srv.URL, Stages: []Stage{{Rate: 50, RampTo: 150, For: time.Second}, {Rate: 20}}, MaxDuration: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	go func() { // the engine changes the rate between phases
		time.Sleep(2 * time.Second)
		g.SetRate(0)
	}()
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	secs := g.Timeline().Seconds("")
	want := []int64{100, 20, 0}
	if len(secs) != 3 {
		t.Fatalf("got %d seconds, want 3", len(secs))
	}
	for i, w := range want {
		if d := math.Abs(float64(secs[i].Completed - w)); d > 2+0.05*float64(w) {
			t.Errorf("second %d: %d completed, want %d", i, secs[i].Completed, w)
		}
	}
}

func TestClassesSharesAndSeed(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("X-Priority")]++
		mu.Unlock()
		okJSON(w, r)
	})
	cfg := Config{URL: srv.URL, Stages: []Stage{{Rate: 1000}}, MaxDuration: time.Second, Seed: 7,
		Classes: []Class{
			{Name: "high", Share: 0.2, Headers: map[string]string{"X-Priority": "high"}},
			{Name: "low", Share: 0.8, Headers: map[string]string{"X-Priority": "low"}},
		}}
	counts := func(g *Generator) map[string]int64 {
		return map[string]int64{"high": all(g, "high").Completed, "low": all(g, "low").Completed}
	}
	first := counts(runGen(t, cfg))
	second := counts(runGen(t, cfg))
	// The last request due just before the deadline may miss it; otherwise equal.
	if math.Abs(float64(first["high"]-second["high"])) > 1 || math.Abs(float64(first["low"]-second["low"])) > 1 {
		t.Errorf("same seed, different mix: %v then %v", first, second)
	}
	if share := float64(first["high"]) / float64(first["high"]+first["low"]); math.Abs(share-0.2) > 0.05 {
		t.Errorf("high share %.3f, want 0.2 ±0.05", share)
	}
	mu.Lock()
	if int64(seen["high"]) != first["high"]+second["high"] || int64(seen["low"]) != first["low"]+second["low"] {
		t.Errorf("server saw %v, timeline %v + %v", seen, first, second)
	}
	mu.Unlock()
	draws := func(seed int64) []int32 {
		c := cfg
		c.Seed = seed
		g, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		rng := g.classRand()
		out := make([]int32, 200)
		for i := range out {
			out[i] = g.pickClass(rng)
		}
		return out
	}
	a, b, c := draws(7), draws(7), draws(8)
	if !slices.Equal(a, b) {
		t.Error("seed 7 twice: different class sequences")
	}
	if slices.Equal(a, c) {
		t.Error("seeds 7 and 8: the same class sequence")
	}
}

func TestCoordinatedOmission(t *testing.T) {
	var n atomic.Int64
	srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 20 { // one stall of 500ms
			time.Sleep(500 * time.Millisecond)
		}
		okJSON(w, r)
	})
	g := runGen(t, Config{URL: srv.URL, Stages: []Stage{{Rate: 50}}, Connections: 1, MaxDuration: 2 * time.Second})
	s := all(g, "")
	if s.Completed < 95 {
		t.Fatalf("completed %d, want ~100 (open loop keeps the schedule)", s.Completed)
	}
	if s.Latency.P90 < 150*time.Millisecond || s.Latency.Max < 450*time.Millisecond {
		t.Errorf("latency from intended p90 %v max %v: the stall is hidden", s.Latency.P90, s.Latency.Max)
	}
	if s.Service.P90 > 100*time.Millisecond {
		t.Errorf("service p90 %v, want only the stalled request slow", s.Service.P90)
	}
	if s.SendLag.Max < 400*time.Millisecond {
		t.Errorf("send lag max %v, want the queueing behind the stall", s.SendLag.Max)
	}
	if s.OwnLag.Max > s.SendLag.Max/2 {
		t.Errorf("own lag max %v of send lag max %v: waiting for the stalled connection is the stack's doing, not chaos's", s.OwnLag.Max, s.SendLag.Max)
	}
}

func TestBoundedConnections(t *testing.T) {
	srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		okJSON(w, r)
	})
	g := runGen(t, Config{URL: srv.URL, Stages: []Stage{{Rate: 200}}, Connections: 4, MaxDuration: time.Second})
	if p := srv.peak.Load(); p > 4 {
		t.Errorf("server saw %d connections at once, want ≤ 4", p)
	}
	if st := g.Stats(); st.MaxConns > 4 || st.MaxConns < 1 {
		t.Errorf("Stats.MaxConns = %d, want 1..4", st.MaxConns)
	}
	s := all(g, "")
	if s.SendLag.Max < 200*time.Millisecond {
		t.Errorf("send lag max %v: overload should show as lateness", s.SendLag.Max)
	}
	if s.OwnLag.P99 > s.SendLag.Max/2 {
		t.Errorf("own lag p99 %v of send lag max %v: the backlog behind busy connections is not chaos's own lag", s.OwnLag.P99, s.SendLag.Max)
	}
	if st := g.Stats(); st.Unsent == 0 || st.Sent+st.Unsent < 195 {
		t.Errorf("stats %+v: want the backlog left at stop counted as unsent", st)
	}
}
