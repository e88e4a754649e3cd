package gateway

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Replica is one upstream address with its in-flight count and ejection
// state.
type Replica struct {
	Addr     string
	inflight atomic.Int64

	mu        sync.Mutex
	fails     int       // consecutive failures
	until     time.Time // ejected until
	probation bool      // back from ejection: one failure ejects again
}

// Pool balances over replicas by least connections (ties at random) and
// ejects a replica after EjectAfter consecutive failures for EjectFor. A
// replica back from ejection is on probation: its next failure ejects it
// again, its next success clears it. When every replica is ejected the pool
// is unavailable.
type Pool struct {
	Replicas   []*Replica
	EjectAfter int           // 0 disables ejection
	EjectFor   time.Duration // how long an ejected replica is left out
	now        func() time.Time
}

// NewPool builds a pool over addrs.
func NewPool(addrs []string, ejectAfter int, ejectFor time.Duration) *Pool {
	p := &Pool{EjectAfter: ejectAfter, EjectFor: ejectFor, now: time.Now}
	for _, a := range addrs {
		p.Replicas = append(p.Replicas, &Replica{Addr: a})
	}
	return p
}

// Ejected reports whether r is ejected now.
func (p *Pool) Ejected(r *Replica) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.now().Before(r.until)
}

// Pick returns the available replica with the fewest requests in flight,
// preferring ones not in tried; nil when every replica is ejected. A breaker
// probe (probe=true) may pick an ejected replica when no other is left: the
// breaker must be able to find out that the pool healed. The caller must
// call Done or Release with the result.
func (p *Pool) Pick(tried map[*Replica]bool, probe bool) *Replica {
	if r := p.pick(tried, false); r != nil || !probe {
		return r
	}
	return p.pick(tried, true)
}

func (p *Pool) pick(tried map[*Replica]bool, ejectedToo bool) *Replica {
	var best []*Replica
	bestN, bestTried := int64(-1), true
	for _, r := range p.Replicas {
		if !ejectedToo && p.Ejected(r) {
			continue
		}
		n, t := r.inflight.Load(), tried[r]
		better := bestN < 0 || (bestTried && !t) || (bestTried == t && n < bestN)
		switch {
		case better:
			best, bestN, bestTried = append(best[:0], r), n, t
		case t == bestTried && n == bestN:
			best = append(best, r)
		}
	}
	if len(best) == 0 {
		return nil
	}
	r := best[rand.IntN(len(best))]
	r.inflight.Add(1)
	return r
}

// Done ends a request picked from r; success=false counts towards ejection.
func (p *Pool) Done(r *Replica, success bool) {
	r.inflight.Add(-1)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := p.now()
	if now.Before(r.until) {
		return // a late answer neither ends nor extends an ejection
	}
	if success {
		r.fails, r.probation = 0, false
		return
	}
	if p.EjectAfter <= 0 {
		return
	}
	r.fails++
	if r.fails >= p.EjectAfter || r.probation {
		r.until, r.fails, r.probation = now.Add(p.EjectFor), 0, true
	}
}

// Release ends a request picked from r that has no verdict (the client went
// away): it neither counts as a failure nor clears one.
func (p *Pool) Release(r *Replica) { r.inflight.Add(-1) }

// Readmit ends r's ejection at once: a breaker probe through it succeeded.
func (p *Pool) Readmit(r *Replica) {
	r.mu.Lock()
	r.until, r.fails, r.probation = time.Time{}, 0, false
	r.mu.Unlock()
}
