package report

import (
	"math"
	"time"

	"github.com/chaos-sre/chaos/verify"
)

// fixture is a fixed, deterministic report shaped like a real run of the
// slow-primary experiment: 4 s baseline, a 12 s latency fault, recovery.
func fixture() *Report {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ttr := 1100 * time.Millisecond
	ttrS := Seconds(ttr.Seconds())
	r := &Report{
		Schema: Schema, Experiment: "slow-primary-trips-breaker", File: "examples/experiments/local/slow-primary.yaml",
		Run: "20250301T120000-11-4242", Seed: 11, Started: start, Ended: start.Add(24 * time.Second),
		Verdict: "failed", ExitCode: 1,
		Stack:  []string{"model-primary-1 127.0.0.1:40001 (pid 101)", "gateway 127.0.0.1:40000 (pid 103)"},
		Phases: Phases{Baseline: 0, Inject: 4, Rollback: 16.02, Recovery: 16.02, RollbackDone: 16.3, End: 23.5},
		Faults: []FaultReport{{Name: "slow-primary", Kind: "latency", Targets: []string{"model-primary-1", "model-primary-2"},
			Mechanism: "in-process HTTP fault proxy in front of the target (per request)", Start: 4.01, End: 16.02, Injected: true}},
		Checks: []CheckReport{
			{Name: "breaker opens", Kind: "breaker", Window: "slow-primary", Result: verify.Result{Held: true, Measured: "opened after 1.5s", Bound: `gateway_breaker_state{upstream="primary"} = 1 within 5s`}},
			{Name: "fallback answers", Kind: "degraded", Window: "slow-primary +5s", Result: verify.Result{Held: true, Measured: "degraded 97.0% (210 requests)", Bound: "degraded ≥ 50%"}},
			{Name: "answers stay fast", Kind: "slo", Window: "slow-primary +5s", Result: verify.Result{Measured: "p95 812ms, error rate 0.4% (210 requests)", Bound: "p95 ≤ 500ms, error rate ≤ 1%",
				Reason: "p95 812ms > 500ms over slow-primary +5s (210 requests) | piped <b>"}},
			{Name: "recovers", Kind: "recover", Window: "recovery", Result: verify.Result{Held: true, Measured: "recovered after 1.1s", Bound: "p99 ≤ 500ms, error rate ≤ 1% within 15s", TimeToRecover: &ttr}},
		},
		TimeToRecover: &ttrS,
		Load: LoadReport{URL: "http://127.0.0.1:40000/v1/chat/completions", Sent: 720, Classes: []string{"high", "low"},
			Total: Stats{Completed: 715, OK: 712, Errors: 3, Degraded: 300, Rate: 30, ErrorRate: 3.0 / 715, DegradedShare: 300.0 / 715,
				Latency: Quantiles{P50: 40, P95: 700, P99: 2010.5, Max: 2100, Count: 715}, TTFT: Quantiles{P50: 20, P95: 500, P99: 2001, Max: 2050, Count: 715},
				Status: map[string]int64{"200": 712, "503": 3}, Connects: 148, ConnectErrors: 4, ConnectErrorRate: 4.0 / 148,
				Connect: &Quantiles{P50: 0.2, P95: 3.1, P99: 1010, Max: 1030, Count: 144}, TTFB: &Quantiles{P50: 18, P95: 450, P99: 1900, Max: 2000, Count: 711}}},
	}
	r.Load.ClassTotals = map[string]Stats{
		"high":        {Completed: 572, OK: 570, Errors: 2, Rate: 24, Connects: 4, Connect: &Quantiles{P50: 0.2, P95: 0.3, P99: 0.3, Max: 0.3, Count: 4}},
		"new-clients": {Completed: 143, OK: 142, Errors: 1, Rate: 6, Connects: 144, ConnectErrors: 4, ConnectErrorRate: 4.0 / 144, Connect: &Quantiles{P50: 0.2, P95: 3.2, P99: 1010, Max: 1030, Count: 140}},
	}
	r.Load.Classes = []string{"high", "new-clients"}
	for s := 0; s < 24; s++ {
		t := float64(s)
		lat, errs, degr := 40.0, int64(0), int64(0)
		switch {
		case s >= 4 && s < 6:
			lat, errs = 2000, 1
		case s >= 6 && s < 16:
			lat, degr = 60+10*math.Sin(t), 29
		case s == 16:
			lat = 300
		}
		st := Stats{Completed: 30, OK: 30 - errs, Errors: errs, Degraded: degr, Rate: 30, ErrorRate: float64(errs) / 30, DegradedShare: float64(degr) / 30,
			Latency: Quantiles{P50: lat * 0.8, P95: lat * 1.3, P99: lat * 1.5, Max: lat * 1.6, Count: 30},
			TTFT:    Quantiles{P50: lat * 0.4, P95: lat * 0.7, P99: lat * 0.8, Max: lat, Count: 30}}
		hi := st
		hi.Completed, hi.Rate = 9, 9
		nc := Stats{Completed: 6, OK: 6, Rate: 6, Connects: 6, Connect: &Quantiles{P50: 0.2, P95: 0.3, P99: 0.3, Max: 0.3, Count: 6}}
		if s >= 6 && s < 10 {
			nc.Connect.P99, nc.Connect.Max, nc.ConnectErrors, nc.ConnectErrorRate = 1010, 1030, 1, 1.0/6
		}
		st.Connects, st.ConnectErrors, st.ConnectErrorRate, st.Connect = nc.Connects, nc.ConnectErrors, nc.ConnectErrorRate, nc.Connect
		r.Load.Seconds = append(r.Load.Seconds, Second{T: Seconds(t), Stats: st, Classes: map[string]Stats{"high": hi, "new-clients": nc}})
	}
	br := SeriesReport{Check: "breaker opens", Kind: "breaker", Name: `open: gateway_breaker_state{upstream="primary"}`}
	shed := SeriesReport{Check: "shed", Kind: "prometheus", Name: `gateway_shed_total{class="low"}`}
	for i := 0; i < 94; i++ {
		t := Seconds(float64(i) * 0.25)
		v := 0.0
		if t >= 5.5 && t < 17 {
			v = 1
		}
		br.Points = append(br.Points, SeriesPoint{T: t, Value: v})
		shed.Points = append(shed.Points, SeriesPoint{T: t, Value: float64(i / 4 * 10)})
	}
	r.Series = []SeriesReport{br, shed}
	return r
}

// starvedFixture is fixture's run with chaos itself stopped for 3 s in the
// middle of the fault (+9.1 s to +12.2 s): the checks of the fault's window
// are inconclusive, the recovery one is judged, and the run exits 5.
func starvedFixture() *Report {
	r := fixture()
	r.Experiment, r.Verdict, r.ExitCode = "slow-primary-starved", "inconclusive", 5
	r.Reason = "2 checks could not be judged: chaos was starved in their windows; no check failed"
	why := "chaos was starved: own send lag p99 3.02s (bound 100ms), a 3.1s gap at +9.1s (bound 500ms); the stack's numbers in this window cannot be trusted"
	r.Checks[1].Result = verify.Inconclusive(r.Checks[1].Result, why)
	r.Checks[2].Result = verify.Inconclusive(r.Checks[2].Result, why)
	r.Self = &SelfReport{Bounds: SelfBounds{OwnLagP99: 100, Gap: 500}, Stalls: []Stall{{From: 9.1, To: 12.2}}}
	for s := 0; s < 24; s++ {
		lag := &Quantiles{P50: 0.3, P95: 0.6, P99: 0.9, Max: 1.2, Count: 30}
		sec := SelfSecond{T: Seconds(s), SendLag: lag, OwnLag: lag, RunQueueWait: 0.004, CPU: 0.08, TickLate: 0.4}
		switch {
		case s >= 9 && s < 12:
			stalled := &Quantiles{P50: 1500, P95: 2900, P99: 3020, Max: 3050, Count: 30}
			sec.SendLag, sec.OwnLag = stalled, stalled
		case s == 12:
			sec.TickLate, sec.CPU = 3100, 0.3
		}
		r.Self.Seconds = append(r.Self.Seconds, sec)
	}
	return r
}
