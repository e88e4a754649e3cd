package report

import "math"

// SelfReport is chaos's own health over a run. A load generator that
// sends late, or a process that does not run, makes the stack look slow
// when it is not (latency counts from the intended send time) and then
// hits it with the backlog at once; so a check whose window saw chaos
// starved past Bounds is inconclusive, not held or failed.
type SelfReport struct {
	Bounds SelfBounds `json:"bounds" jsonschema:"description=past any of these within a check's window the check is inconclusive"`
	// Seconds are per second of the run: send lag by intended send time,
	// the rest by wall-clock time.
	Seconds []SelfSecond `json:"seconds,omitempty"`
	// Stalls are the spans in which chaos did not run at all (its 100 ms
	// monitor tick came late by more than StallMin).
	Stalls []Stall `json:"stalls,omitempty"`
}

// SelfBounds are the limits of chaos's own health past which a window
// cannot be judged. Run-queue wait is reported per second but judges
// nothing: a busy machine makes threads wait while chaos still keeps its
// schedule, which the send lag and the gaps measure directly.
type SelfBounds struct {
	OwnLagP99 float64 `json:"own_lag_p99_ms" jsonschema:"description=p99 of the send lag that is chaos's own (not the wait for a connection a slow stack holds)"`
	Gap       float64 `json:"gap_ms" jsonschema:"description=longest time chaos may not run (a late monitor tick or a sampler tick missed by this much)"`
}

// SelfSecond is one second of chaos's own health.
type SelfSecond struct {
	T Seconds `json:"t_s" jsonschema:"description=start of the second in seconds from started"`
	// SendLag and OwnLag cover the requests intended in this second:
	// actual − intended send time, and the part of it that is chaos's own
	// (SendLag less the wait for a free connection).
	SendLag *Quantiles `json:"send_lag,omitempty" jsonschema:"description=actual − intended send time of the requests intended in this second"`
	OwnLag  *Quantiles `json:"own_lag,omitempty" jsonschema:"description=send_lag less the wait for a free connection: chaos's own lateness"`
	// RunQueueWait is the time chaos's threads waited for a CPU in this
	// second, summed over threads and divided by GOMAXPROCS: 0.25 is a
	// quarter of its capacity to run spent waiting.
	RunQueueWait float64 `json:"run_queue_wait" jsonschema:"description=seconds chaos's threads waited on a run queue in this second divided by GOMAXPROCS (0..1 and more)"`
	CPU          float64 `json:"cpu" jsonschema:"description=CPU seconds chaos used per second of wall time"`
	// TickLate is how late the monitor's 100 ms tick fired at worst.
	TickLate float64 `json:"tick_late_ms" jsonschema:"description=latest the 100 ms monitor tick fired in this second"`
	// SamplerLate is how late the samplers' tick fired at worst (only
	// when some check samples).
	SamplerLate float64 `json:"sampler_late_ms,omitempty" jsonschema:"description=latest the samplers' tick (metric scrapes and probes) fired in this second"`
}

// Stall is a span in which chaos did not run.
type Stall struct {
	From Seconds `json:"from_s"`
	To   Seconds `json:"to_s"`
}

// cSelfLag and cSelfWait colour chaos's own health chart.
const cSelfLag, cSelfWait, cSelfTick = "#0f172a", "#ea580c", "#94a3b8"

// selfChart is the "chaos's own health" chart: own send lag p99, the
// monitor tick's lateness, and run-queue wait (as milliseconds per second,
// so one axis serves all three); stalls are shaded like faults.
func selfChart(r *Report, base func(title, unit string) chart) (chart, bool) {
	s := r.Self
	if s == nil || len(s.Seconds) == 0 {
		return chart{}, false
	}
	c := base("chaos's own health: send lag p99, late ticks, run-queue wait", "ms")
	for _, st := range s.Stalls {
		c.Bands = append(c.Bands, band{From: float64(st.From), To: float64(st.To), Label: "chaos stalled"})
	}
	lag := make([]xy, 0, len(s.Seconds))
	tick := make([]xy, 0, len(s.Seconds))
	wait := make([]xy, 0, len(s.Seconds))
	for _, sec := range s.Seconds {
		x := float64(sec.T) + 0.5
		y := math.NaN()
		if sec.OwnLag != nil && sec.OwnLag.Count > 0 {
			y = sec.OwnLag.P99
		}
		lag = append(lag, xy{X: x, Y: y})
		tick = append(tick, xy{X: x, Y: sec.TickLate})
		wait = append(wait, xy{X: x, Y: 1000 * sec.RunQueueWait})
	}
	c.Lines = []line{
		{Name: "send lag p99 (own)", Color: cSelfLag, Pts: lag},
		{Name: "tick late", Color: cSelfTick, Dash: true, Pts: tick},
		{Name: "run-queue wait (ms per s)", Color: cSelfWait, Pts: wait},
	}
	return c, true
}
