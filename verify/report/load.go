package report

import (
	"sort"
	"strconv"
	"time"

	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/load"
)

// LoadReport is the measured load: over the whole run and per second.
type LoadReport struct {
	URL     string   `json:"url"`
	Sent    int64    `json:"sent"`
	Classes []string `json:"classes,omitempty" jsonschema:"description=request classes in configuration order"`
	Total   Stats    `json:"total"`
	// ClassTotals is Total for each class (when there are several).
	ClassTotals map[string]Stats `json:"class_totals,omitempty" jsonschema:"description=the whole run for each class"`
	// Capacity is what a load-only run (no faults) found the stack holds.
	Capacity *Capacity `json:"capacity,omitempty" jsonschema:"description=load-only runs: the highest one-second rate completed within the steady state's bounds"`
	// Seconds is the per-second timeline by intended send time.
	Seconds []Second `json:"seconds,omitempty"`
}

// Stats summarises the completed requests whose intended send time falls in
// a span (the whole run, or one second).
type Stats struct {
	Completed     int64            `json:"completed"`
	OK            int64            `json:"ok"`
	Errors        int64            `json:"errors"`
	Degraded      int64            `json:"degraded" jsonschema:"description=OK answers that carried the degraded marker"`
	Unsent        int64            `json:"unsent,omitempty" jsonschema:"description=due but never sent"`
	Rate          float64          `json:"rate_per_s" jsonschema:"description=completed requests per second"`
	ErrorRate     float64          `json:"error_rate" jsonschema:"description=errors/completed (0..1)"`
	DegradedShare float64          `json:"degraded_share" jsonschema:"description=degraded/completed (0..1)"`
	Latency       Quantiles        `json:"latency" jsonschema:"description=from intended send time to the end of the answer"`
	TTFT          Quantiles        `json:"ttft" jsonschema:"description=from intended send time to the first content token (non-stream: the whole answer)"`
	Status        map[string]int64 `json:"status,omitempty" jsonschema:"description=HTTP status counts"`
	Failures      map[string]int64 `json:"failures,omitempty" jsonschema:"description=transport failures by kind"`
	// Connects and the fields after it measure what a new client sees: the
	// requests that opened a TCP connection (all of them with
	// fresh_connections), how many of those failed before any byte of an
	// answer, and the connect time and time to first byte.
	Connects         int64      `json:"connects,omitempty" jsonschema:"description=requests that opened a TCP connection (every one with fresh_connections)"`
	ConnectErrors    int64      `json:"connect_errors,omitempty" jsonschema:"description=connections refused or timed out or reset before any byte of an answer"`
	ConnectErrorRate float64    `json:"connect_error_rate,omitempty" jsonschema:"description=connect_errors/connects (0..1)"`
	Connect          *Quantiles `json:"connect,omitempty" jsonschema:"description=TCP connect time of the connections opened"`
	TTFB             *Quantiles `json:"ttfb,omitempty" jsonschema:"description=from intended send time to the first byte of the answer"`
}

// Capacity is the highest rate a stack completed in one second while that
// second kept the steady state's bounds: on a ramp, the knee.
type Capacity struct {
	Rate      float64 `json:"rate_per_s"`
	At        Seconds `json:"t_s" jsonschema:"description=start of that second in seconds from started"`
	P99       float64 `json:"p99_ms"`
	ErrorRate float64 `json:"error_rate"`
	Within    string  `json:"within" jsonschema:"description=which seconds counted"`
}

// Quantiles summarises a latency distribution in milliseconds.
type Quantiles struct {
	P50   float64 `json:"p50_ms"`
	P95   float64 `json:"p95_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
	Count int64   `json:"count"`
}

// Second is one second of the timeline: all classes, and each class.
type Second struct {
	T Seconds `json:"t_s" jsonschema:"description=start of the second in seconds from started"`
	Stats
	Classes map[string]Stats `json:"classes,omitempty"`
}

// LoadOf builds the load part of a report from the run's timeline, over
// [from, to); from is the report's time zero.
func LoadOf(url string, sent int64, tl *load.Timeline, from, to time.Time) LoadReport {
	lr := LoadReport{URL: url, Sent: sent, Total: StatsOf(tl.Summary(from, to, ""))}
	classes := tl.Classes()
	if len(classes) > 1 {
		lr.Classes = classes
		lr.ClassTotals = map[string]Stats{}
		for _, c := range classes {
			lr.ClassTotals[c] = StatsOf(tl.Summary(from, to, c))
		}
	}
	all := tl.Seconds("")
	per := make([][]load.Second, len(lr.Classes))
	for i, c := range lr.Classes {
		per[i] = tl.Seconds(c)
	}
	for i, s := range all {
		sec := Second{T: SecondsSince(from, s.At), Stats: StatsOf(s.Summary)}
		for ci, c := range lr.Classes {
			if i < len(per[ci]) && per[ci][i].Completed > 0 {
				if sec.Classes == nil {
					sec.Classes = map[string]Stats{}
				}
				sec.Classes[c] = StatsOf(per[ci][i].Summary)
			}
		}
		lr.Seconds = append(lr.Seconds, sec)
	}
	return lr
}

// StatsOf converts a load summary to its report form.
func StatsOf(s load.Summary) Stats {
	out := Stats{
		Completed: s.Completed, OK: s.OK, Errors: s.Errors, Degraded: s.Degraded, Unsent: s.Unsent,
		Rate: s.Rate, ErrorRate: s.ErrorRate, DegradedShare: s.DegradedShare,
		Latency: quantilesOf(s.Latency), TTFT: quantilesOf(s.TTFTContent),
	}
	if s.Connects > 0 {
		out.Connects, out.ConnectErrors, out.ConnectErrorRate = s.Connects, s.ConnectErrors, s.ConnectErrorRate
		if s.Connect.Count > 0 {
			q := quantilesOf(s.Connect)
			out.Connect = &q
		}
	}
	if s.TTFB.Count > 0 {
		q := quantilesOf(s.TTFB)
		out.TTFB = &q
	}
	if len(s.Status) > 0 {
		out.Status = map[string]int64{}
		for k, v := range s.Status {
			out.Status[strconv.Itoa(k)] = v
		}
	}
	if len(s.Failures) > 0 {
		out.Failures = map[string]int64{}
		for k, v := range s.Failures {
			out.Failures[k] = v
		}
	}
	return out
}

func quantilesOf(q load.Quantiles) Quantiles {
	return Quantiles{P50: ms(q.P50), P95: ms(q.P95), P99: ms(q.P99), Max: ms(q.Max), Count: q.Count}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// SeriesOf converts the series checks sampled; start is the report's time zero.
func SeriesOf(check, kind string, s verify.Series, start time.Time) (SeriesReport, bool) {
	name, pts := s.Series()
	if name == "" {
		return SeriesReport{}, false
	}
	out := SeriesReport{Check: check, Kind: kind, Name: name, Points: make([]SeriesPoint, 0, len(pts))}
	for _, p := range pts {
		out.Points = append(out.Points, SeriesPoint{T: SecondsSince(start, p.At), Value: p.Value})
	}
	sort.SliceStable(out.Points, func(a, b int) bool { return out.Points[a].T < out.Points[b].T })
	return out, true
}
