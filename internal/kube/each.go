package kube

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Each runs fn on every item with at most Concurrency in flight (on top of
// the client's own rate limits) and returns every error. Once ctx is done
// it starts no more, waits for those in flight and adds ctx's error.
func Each[T any](ctx context.Context, items []T, fn func(context.Context, T) error) error {
	sem := make(chan struct{}, Concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, it := range items {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return errors.Join(append(errs, ctx.Err())...)
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(ctx, it); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ticker calls a function every period in the background, from Start until
// Stop: a fault's renewals of what it holds on a cluster (marks, leases)
// while it is on. Its methods are safe for concurrent use.
type Ticker struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start calls tick every period from now on, unless t is running already.
func (t *Ticker) Start(period time.Duration, tick func(context.Context)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.cancel, t.done = cancel, make(chan struct{})
	go loop(ctx, t.done, period, tick)
}

// Stop ends the calls and waits for one in flight; a later Start starts
// them again.
func (t *Ticker) Stop() {
	t.mu.Lock()
	cancel, done := t.cancel, t.done
	t.cancel, t.done = nil, nil
	t.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func loop(ctx context.Context, done chan struct{}, period time.Duration, tick func(context.Context)) {
	defer close(done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		tick(ctx)
	}
}
