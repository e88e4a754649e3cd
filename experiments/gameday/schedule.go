package gameday

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Clock is the time a Scheduler runs on; tests pass a fake one so that a
// week of ticks takes microseconds.
type Clock interface {
	Now() time.Time
	// After sends the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Schedule gives the next activation after t (a parsed cron expression).
type Schedule interface {
	Next(t time.Time) time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Scheduler runs a game-day on every tick of a schedule, one run at a time:
// a tick that comes while a run is still going is skipped (and logged), and
// ticks missed while the clock jumped (a suspended machine) give one run,
// not one each. When ctx ends it waits for the run in progress, whose own
// rollback is on a context ctx does not cancel, before it returns.
type Scheduler struct {
	Schedule Schedule
	Clock    Clock                                     // default the real clock
	Run      func(ctx context.Context, tick time.Time) // one game-day
	Log      io.Writer                                 // progress; default discarded
	RunNow   bool                                      // also run once at start
}

// maxMissed bounds the count of missed ticks (a schedule of every minute
// after a month asleep).
const maxMissed = 100_000

// Loop runs until ctx ends; it returns ctx's cause once the run in progress,
// if any, has finished.
func (s *Scheduler) Loop(ctx context.Context) error {
	clock := s.Clock
	if clock == nil {
		clock = realClock{}
	}
	log := s.Log
	if log == nil {
		log = io.Discard
	}
	var done chan struct{}
	var runStart time.Time
	start := func(tick time.Time) {
		done, runStart = make(chan struct{}), clock.Now()
		ch := done
		go func() {
			defer close(ch)
			s.Run(ctx, tick)
		}()
	}
	if s.RunNow {
		fmt.Fprintf(log, "gameday: running now, then on the schedule\n")
		start(clock.Now())
	}
	next := s.Schedule.Next(clock.Now())
	for {
		if next.IsZero() {
			fmt.Fprintf(log, "gameday: the schedule has no next time; stopping after the current run\n")
			if done != nil {
				<-done
			}
			return nil
		}
		fmt.Fprintf(log, "gameday: next run at %s\n", next.Format(time.RFC3339))
		wait := clock.After(next.Sub(clock.Now()))
	waiting:
		select {
		case <-ctx.Done():
			if done != nil {
				fmt.Fprintf(log, "gameday: %v: letting the run in progress roll back and finish\n", context.Cause(ctx))
				<-done
			}
			return context.Cause(ctx)
		case <-done:
			done = nil
			goto waiting // the timer for next keeps running
		case <-wait:
		}
		now := clock.Now()
		missed := 0
		for t := s.Schedule.Next(next); !t.IsZero() && !t.After(now) && missed < maxMissed; t = s.Schedule.Next(t) {
			missed++
		}
		if missed > 0 {
			fmt.Fprintf(log, "gameday: missed %d tick(s) after %s (the clock jumped or the machine slept): running once for them\n",
				missed, next.Format(time.RFC3339))
		}
		if done != nil {
			fmt.Fprintf(log, "gameday: tick at %s skipped: the run started at %s is still going\n",
				next.Format(time.RFC3339), runStart.Format(time.RFC3339))
		} else {
			fmt.Fprintf(log, "gameday: tick at %s: starting a run\n", next.Format(time.RFC3339))
			start(next)
		}
		next = s.Schedule.Next(now)
	}
}
