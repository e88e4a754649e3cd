// Package flood is the flood family: an open-loop storm of requests sent
// by chaos itself above the stack's capacity.
package flood

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify/load"
)

// Flood is the "server busy" storm: an open-loop burst of real requests at a
// rate above the stack's capacity, with a priority mix, sent by chaos itself
// to the target URL for as long as the fault is on. Its own results are not
// part of the measured load; they are summarised in the log.
type Flood struct {
	Rate        units.Rate        `yaml:"rate" json:"rate" jsonschema:"description=requests per second,default=200/s"`
	Classes     []FloodClass      `yaml:"classes,omitempty" json:"classes,omitempty" jsonschema:"description=priority mix; shares add up to 100%"`
	Method      string            `yaml:"method,omitempty" json:"method,omitempty" jsonschema:"default=POST"`
	Headers     map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Body        any               `yaml:"body,omitempty" json:"body,omitempty" jsonschema:"description=request body (a mapping is sent as JSON); default a small chat completion"`
	Stream      bool              `yaml:"stream,omitempty" json:"stream,omitempty"`
	Connections int               `yaml:"connections,omitempty" json:"connections,omitempty" jsonschema:"default=512,minimum=1"`
	Timeout     units.Duration    `yaml:"timeout,omitempty" json:"timeout,omitempty" jsonschema:"default=5s"`

	changes faults.Changes
	mu      sync.Mutex
	gens    []*load.Generator
}

// FloodClass is a share of the flood with its own headers.
type FloodClass struct {
	Name    string            `yaml:"name" json:"name"`
	Share   units.Percent     `yaml:"share" json:"share"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
}

var _ faults.Fault = (*Flood)(nil)

// New is a flood with its defaults: 200/s of small chat completions.
func New() *Flood {
	return &Flood{Rate: 200, Method: "POST", Connections: 512, Timeout: units.Duration(5 * time.Second)}
}

// Validate implements Fault.
func (f *Flood) Validate() []units.Problem {
	var ps []units.Problem
	if f.Rate <= 0 || f.Rate > 50000 {
		ps = append(ps, units.Problemf("rate", "%s is out of range (valid: more than 0/s, at most 50000/s)", f.Rate))
	}
	if f.Connections < 1 {
		ps = append(ps, units.Problemf("connections", "%d is too few (valid: 1 or more)", f.Connections))
	}
	if len(f.Classes) > 0 {
		sum := 0.0
		for _, c := range f.Classes {
			sum += c.Share.Fraction()
		}
		if sum < 0.999 || sum > 1.001 {
			ps = append(ps, units.Problemf("classes", "shares add up to %s (valid: 100%%)", units.Percent(sum)))
		}
	}
	if _, err := f.body(); err != nil {
		ps = append(ps, units.Problemf("body", "%v", err))
	}
	return ps
}

func (f *Flood) body() ([]byte, error) {
	switch b := f.Body.(type) {
	case nil:
		return []byte(`{"model":"primary","max_tokens":16,"messages":[{"role":"user","content":"flood"}]}`), nil
	case string:
		return []byte(b), nil
	default:
		out, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("cannot be sent as JSON: %v", err)
		}
		return out, nil
	}
}

// Inject implements Fault: it starts one generator per target URL.
func (f *Flood) Inject(ctx context.Context, env faults.Env) error {
	body, err := f.body()
	if err != nil {
		return err
	}
	for _, t := range env.Targets {
		if t.URL == "" {
			return fmt.Errorf("flood fault: target %s has no URL (valid: target: {url: ...})", t.Name)
		}
		cfg := load.Config{
			URL: t.URL, Method: f.Method, Headers: f.Headers, Body: body, Stream: f.Stream,
			Stages:      []load.Stage{{Rate: f.Rate.PerSecond()}},
			Timeout:     f.Timeout.D(),
			Connections: f.Connections,
			MaxDuration: env.For + f.Timeout.D() + time.Minute,
			Seed:        int64(env.Rand.Uint64() >> 1),
		}
		for _, c := range f.Classes {
			cfg.Classes = append(cfg.Classes, load.Class{Name: c.Name, Share: c.Share.Fraction(), Headers: c.Headers})
		}
		g, err := load.New(cfg)
		if err != nil {
			return fmt.Errorf("flood fault on %s: %w", t.URL, err)
		}
		runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		name := t.Name
		stop := func(context.Context) error {
			cancel()
			<-done
			st := g.Stats()
			sum := g.Timeline().Summary(g.Timeline().Start(), time.Now().Add(time.Hour), "")
			fmt.Fprintf(env.Log, "  flood on %s stopped: %d sent, %.0f%% errors\n", name, st.Sent, 100*sum.ErrorRate)
			return nil
		}
		ch := faults.Change{Target: t.Name, Action: "in-process", Data: map[string]any{"flood": t.URL, "rate": f.Rate.String()}, Undo: stop, Owned: true}
		if err := f.changes.Apply(env, ch, func() error {
			go func() { defer close(done); _ = g.Run(runCtx) }()
			return nil
		}); err != nil {
			cancel()
			return err
		}
		f.mu.Lock()
		f.gens = append(f.gens, g)
		f.mu.Unlock()
		fmt.Fprintf(env.Log, "  flood %s on %s\n", f.Rate, t.URL)
	}
	return nil
}

// Rollback implements Fault.
func (f *Flood) Rollback(ctx context.Context) error { return f.changes.Rollback(ctx) }
