package verify

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/chaos-sre/chaos/verify/load"
)

// inFlightLoad is a fakeLoad whose windows still have answers in flight
// until a moment: what a slow or hanging request looks like while the run
// goes on.
type inFlightLoad struct {
	fakeLoad
	now   *time.Time
	until time.Time
}

func (l inFlightLoad) Summary(from, to time.Time, class string) load.Summary {
	s := l.fakeLoad.Summary(from, to, class)
	if l.now.Before(l.until) {
		s.InFlight = 3
	}
	return s
}

// TestRecoverWaitsForAnswersInFlight: a window whose completed answers
// already look recovered is not judged while answers are still in flight
// (they may yet time out); once they are in, it is; the final evaluation
// judges what there is.
func TestRecoverWaitsForAnswersInFlight(t *testing.T) {
	c := Kinds["recover"].New().(*RecoverCheck)
	c.SLO = SLO{P99: dur("500ms")}
	var now time.Time
	tl := inFlightLoad{fakeLoad: join(traffic(0, 34, 20, 2100*ms, 200, false, ""), traffic(34, 60, 20, 100*ms, 200, false, "")), now: &now, until: at(41)}
	ev := Evidence{Timeline: tl, Rollback: at(30)}
	for _, tc := range []struct {
		now  float64
		done bool
	}{{38, false}, {40.9, false}, {41, true}} {
		now = at(tc.now)
		ev.Now = now
		assert.Equal(t, tc.done, c.Done(ev), "now %vs", tc.now)
	}

	now, ev.Now = at(39), at(39)
	r := Kinds["recover"].New().(*RecoverCheck)
	r.SLO = c.SLO
	res := r.Evaluate(context.Background(), ev)
	assert.True(t, res.Held, "the final evaluation judges what completed: %s", res.Reason)
}
