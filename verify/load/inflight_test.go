package load

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestInFlightWhileAnswersHang: while the server holds its answers, a
// window counts them in flight; once the run is over every request is
// completed or unsent, and nothing is in flight.
func TestInFlightWhileAnswersHang(t *testing.T) {
	release := make(chan struct{})
	srv := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		okJSON(w, r)
	})
	g, err := New(Config{URL: srv.URL + "/", Stages: []Stage{{Rate: 40}}, MaxDuration: time.Second, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	deadline := time.Now().Add(10 * time.Second)
	var s Summary
	for time.Now().Before(deadline) {
		if tl := g.Timeline(); !tl.Start().IsZero() {
			if s = tl.Summary(tl.Start(), tl.Start().Add(time.Hour), ""); s.InFlight >= 10 {
				break
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if s.InFlight < 10 || s.Completed != 0 {
		t.Errorf("while the answers hang: %d in flight, %d completed; want 10+ in flight, none completed", s.InFlight, s.Completed)
	}
	if end := all(g, ""); end.InFlight != 0 || end.Completed == 0 {
		t.Errorf("after the run: %d in flight, %d completed, %d unsent; want none in flight", end.InFlight, end.Completed, end.Unsent)
	}
}

// TestEarlySendIsNotLeftInFlight: a request due on a tick's first
// microsecond and handed out early (earlyBy) is measured from its send, in
// the tick before; it is still completed in the tick it was due in, so no
// window starting there keeps it in flight for ever (a recover check's
// live verdict waited for it until its limit).
func TestEarlySendIsNotLeftInFlight(t *testing.T) {
	tl := newTimeline([]string{"a"}, time.Second)
	start := time.Unix(1000, 0)
	tl.begin(start)
	due := 10 * Resolution
	tl.recordDue(due, 0)
	sent := due - earlyBy/2
	tl.record(&result{due: due, intended: sent, sent: sent, end: sent + 10*time.Millisecond, status: 200, fail: failNone, ttftEv: -1, ttftCont: -1, ttfb: -1})
	tl.finish(start.Add(2 * time.Second))
	s := tl.Summary(start.Add(due), start.Add(2*time.Second), "")
	if s.InFlight != 0 || s.Completed != 1 {
		t.Fatalf("window from its due tick: %d in flight, %d completed; want 0 and 1", s.InFlight, s.Completed)
	}
}
