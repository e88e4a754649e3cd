package experiments

import (
	"context"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify"
)

// Small fake kinds, so decoder tests do not depend on the real registries.

type fakeLatency struct {
	Delay  units.Duration `yaml:"delay"`
	Jitter units.Duration `yaml:"jitter,omitempty"`
	Share  units.Percent  `yaml:"share,omitempty"`
}

func (f *fakeLatency) Validate() []units.Problem {
	if f.Jitter > f.Delay {
		return []units.Problem{units.Problemf("jitter", "%s is more than delay %s", f.Jitter, f.Delay)}
	}
	return nil
}
func (*fakeLatency) Inject(context.Context, faults.Env) error { return nil }
func (*fakeLatency) Rollback(context.Context) error           { return nil }

type fakeSignal struct {
	Signal string `yaml:"signal,omitempty"`
}

func (f *fakeSignal) Validate() []units.Problem {
	if f.Signal != "STOP" && f.Signal != "KILL" {
		return []units.Problem{units.Problemf("signal", "unknown signal %q (valid: STOP, KILL)", f.Signal)}
	}
	return nil
}
func (*fakeSignal) Inject(context.Context, faults.Env) error { return nil }
func (*fakeSignal) Rollback(context.Context) error           { return nil }

type fakeSLO struct {
	Class      string `yaml:"class,omitempty"`
	verify.SLO `yaml:",inline"`
}

func (*fakeSLO) Validate() []units.Problem                               { return nil }
func (*fakeSLO) Evaluate(context.Context, verify.Evidence) verify.Result { return verify.Result{} }

type fakeProbe struct {
	URL    string   `yaml:"url"`
	Tags   []string `yaml:"tags,omitempty"`
	Nested struct {
		Limit units.Percent `yaml:"limit"`
	} `yaml:"nested,omitempty"`
}

func (p *fakeProbe) Validate() []units.Problem {
	var ps []units.Problem
	if p.URL == "" {
		ps = append(ps, units.Problemf("url", "a URL is required"))
	}
	if p.Nested.Limit > 0.5 {
		ps = append(ps, units.Problemf("nested.limit", "%s is above 50%%", p.Nested.Limit))
	}
	return ps
}
func (*fakeProbe) Evaluate(context.Context, verify.Evidence) verify.Result { return verify.Result{} }

type fakeDegraded struct {
	MinShare *units.Percent `yaml:"min_share,omitempty"`
}

func (*fakeDegraded) Validate() []units.Problem                               { return nil }
func (*fakeDegraded) JudgesDegraded() bool                                    { return true }
func (*fakeDegraded) Evaluate(context.Context, verify.Evidence) verify.Result { return verify.Result{} }

type fakePanicky struct {
	X int `yaml:"x,omitempty"`
}

func (*fakePanicky) Validate() []units.Problem                               { panic("boom") }
func (*fakePanicky) Evaluate(context.Context, verify.Evidence) verify.Result { return verify.Result{} }

func fakeRegistry() Registry {
	return Registry{
		Faults: map[string]faults.Kind{
			"latency": {New: func() faults.Fault { return &fakeLatency{Delay: units.Duration(1e9), Share: 1} }},
			"signal":  {New: func() faults.Fault { return &fakeSignal{Signal: "STOP"} }},
		},
		Checks: map[string]verify.Kind{
			"slo":      {New: func() verify.Check { return &fakeSLO{SLO: verify.SLO{MinCount: 10}} }},
			"probe":    {New: func() verify.Check { return &fakeProbe{} }},
			"degraded": {New: func() verify.Check { return &fakeDegraded{} }},
			"panicky":  {New: func() verify.Check { return &fakePanicky{} }},
		},
	}
}

// withVariants is DefaultRegistry with gateway variants, the way a program
// that plugs in a local stack (cmd/chaos) parses.
func withVariants() Registry {
	reg := DefaultRegistry()
	reg.Variants = []string{"no-breaker", "no-fallback"}
	return reg
}
