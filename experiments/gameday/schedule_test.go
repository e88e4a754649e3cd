package gameday

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/experiments"
)

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

// pending is how many After channels have not fired yet.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// Advance moves the clock and fires every waiter that is due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// eventually polls cond (the scheduler runs in its own goroutine); the
// clock it schedules on never moves by itself.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, what)
}

type lockedLog struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// harness runs a Scheduler on a fake clock every minute; each run blocks
// until the test releases it (or ctx ends, which it treats as SIGTERM:
// it "rolls back" for a moment before returning).
type harness struct {
	clock      *fakeClock
	log        *lockedLog
	release    chan struct{}
	mu         sync.Mutex
	ticks      []time.Time
	running    atomic.Int32
	maxRunning atomic.Int32
	rolledBack atomic.Bool
	cancel     context.CancelFunc
	done       chan error
}

func startHarness(t *testing.T, runNow bool) *harness {
	t.Helper()
	sch, err := experiments.ParseSchedule("* * * * *")
	require.NoError(t, err)
	h := &harness{
		clock:   &fakeClock{now: time.Date(2026, 11, 23, 3, 0, 30, 0, time.UTC)},
		log:     &lockedLog{},
		release: make(chan struct{}),
		done:    make(chan error, 1),
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	t.Cleanup(cancel)
	s := &Scheduler{Schedule: sch, Clock: h.clock, Log: h.log, RunNow: runNow,
		Run: func(ctx context.Context, tick time.Time) {
			n := h.running.Add(1)
			for m := h.maxRunning.Load(); n > m && !h.maxRunning.CompareAndSwap(m, n); m = h.maxRunning.Load() {
			}
			h.mu.Lock()
			h.ticks = append(h.ticks, tick)
			h.mu.Unlock()
			defer h.running.Add(-1)
			select {
			case <-h.release:
			case <-ctx.Done():
				time.Sleep(50 * time.Millisecond) // the engine's rollback, on its own context
				h.rolledBack.Store(true)
			}
		}}
	go func() { h.done <- s.Loop(ctx) }()
	return h
}

func (h *harness) runs() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.ticks...)
}

func at(hh, mm int) time.Time { return time.Date(2026, 11, 23, hh, mm, 0, 0, time.UTC) }

func TestSchedulerSkipsATickWhileARunIsGoing(t *testing.T) {
	h := startHarness(t, false)
	eventually(t, "the first timer", func() bool { return h.clock.pending() == 1 })
	h.clock.Advance(30 * time.Second) // 03:01
	eventually(t, "run 1 starts", func() bool { return len(h.runs()) == 1 && h.running.Load() == 1 })

	eventually(t, "the timer for 03:02", func() bool { return h.clock.pending() == 1 })
	h.clock.Advance(time.Minute) // 03:02 while run 1 still goes
	eventually(t, "the skip is logged", func() bool {
		return assert.ObjectsAreEqual(1, len(h.runs())) && strings.Contains(h.log.String(), "skipped")
	})
	assert.Contains(t, h.log.String(), "tick at 2026-11-23T03:02:00Z skipped: the run started at 2026-11-23T03:01:00Z is still going")

	eventually(t, "the timer for 03:03", func() bool { return h.clock.pending() == 1 })
	h.release <- struct{}{} // run 1 ends
	eventually(t, "run 1 ends", func() bool { return h.running.Load() == 0 })
	h.clock.Advance(time.Minute) // 03:03
	eventually(t, "run 2 starts", func() bool { return len(h.runs()) == 2 })
	h.release <- struct{}{}

	h.cancel()
	require.ErrorIs(t, <-h.done, context.Canceled)
	assert.Equal(t, []time.Time{at(3, 1), at(3, 3)}, h.runs())
	assert.EqualValues(t, 1, h.maxRunning.Load(), "two runs overlapped")
}

func TestSchedulerRunsMissedTicksOnce(t *testing.T) {
	h := startHarness(t, false)
	eventually(t, "the first timer", func() bool { return h.clock.pending() == 1 })
	h.clock.Advance(5 * time.Minute) // asleep from 03:00:30 to 03:05:30: 03:01 … 03:05 are due
	eventually(t, "one run", func() bool { return len(h.runs()) == 1 })
	assert.Contains(t, h.log.String(), "missed 4 tick(s) after 2026-11-23T03:01:00Z")
	h.release <- struct{}{}
	eventually(t, "the timer for 03:06", func() bool { return h.clock.pending() == 1 && h.running.Load() == 0 })
	assert.Contains(t, h.log.String(), "next run at 2026-11-23T03:06:00Z")
	h.clock.Advance(30 * time.Second)
	eventually(t, "the 03:06 run", func() bool { return len(h.runs()) == 2 })
	h.release <- struct{}{}
	h.cancel()
	<-h.done
	assert.Equal(t, []time.Time{at(3, 1), at(3, 6)}, h.runs(), "missed ticks were run more than once")
}

func TestSchedulerSIGTERMWaitsForRollback(t *testing.T) {
	h := startHarness(t, true) // --run-now
	eventually(t, "the run starts", func() bool { return h.running.Load() == 1 })
	h.cancel() // what SIGTERM does to the command's context
	select {
	case err := <-h.done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("the scheduler did not return after its context ended")
	}
	assert.True(t, h.rolledBack.Load(), "the scheduler returned before the run in progress rolled back")
	assert.Contains(t, h.log.String(), "letting the run in progress roll back and finish")
	assert.Len(t, h.runs(), 1)
}
