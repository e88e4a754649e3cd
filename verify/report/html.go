package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/verify"
)

//go:embed report.html.tmpl
var htmlTemplate string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper":   strings.ToUpper,
	"meaning": ExitMeaning,
	"facts":   runFacts,
	"ttr":     ttr,
	"join":    strings.Join,
	"verdictClass": func(code int) string {
		switch code {
		case 0:
			return "held"
		case 1:
			return "failed"
		}
		return "other"
	},
	"status": func(c CheckReport) string { return c.Status() },
	"mark": func(c CheckReport) string {
		return map[string]string{verify.StatusHeld: "✓", verify.StatusFailed: "✗", verify.StatusInconclusive: "?"}[c.Status()]
	},
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"secs": func(s Seconds) string { return fmt.Sprintf("%.1fs", float64(s)) },
	"pct":  Percent,
	"ms":   FormatMs,
}).Parse(htmlTemplate))

// htmlRun is one report with its charts, for the template.
type htmlRun struct {
	*Report
	ID     string
	Charts []chart
}

// WriteHTML writes one self-contained HTML page: the verdict on top, the
// checks, charts of latency percentiles, error rate, degraded share, request
// rate and breaker state over time with the fault windows shaded, then the
// faults and the stack. It loads nothing: no script, no font, no image from
// anywhere. Several reports share one page, with an overview first, failed
// runs first (ByOutcome).
func WriteHTML(w io.Writer, reps ...*Report) error {
	reps = ByOutcome(reps)
	data := struct {
		Title string
		Code  int
		Runs  []htmlRun
		Multi bool
	}{Title: "chaos report", Code: Worst(reps), Multi: len(reps) > 1}
	for i, r := range reps {
		data.Runs = append(data.Runs, htmlRun{Report: r, ID: fmt.Sprintf("run-%d", i+1), Charts: chartsOf(r)})
	}
	if len(reps) == 1 {
		data.Title = "chaos: " + reps[0].Experiment + " " + strings.ToUpper(reps[0].Verdict)
	}
	return page.Execute(w, data)
}

// Chart colours.
const (
	cP50, cP95, cP99, cTTFT = "#60a5fa", "#2563eb", "#1e3a8a", "#a855f7"
	cErr, cDeg, cRate       = "#dc2626", "#d97706", "#059669"
	cConn                   = "#0f766e"
)

var classColors = []string{"#0891b2", "#db2777", "#65a30d", "#7c3aed"}

func chartsOf(r *Report) []chart {
	end := float64(r.Phases.End)
	if n := len(r.Load.Seconds); n > 0 {
		end = math.Max(end, float64(r.Load.Seconds[n-1].T)+1)
	}
	// partial is the last second when the run ended inside it: its rate
	// and percentiles would mislead.
	partial := func(s Second) bool { return r.Phases.End > 0 && float64(s.T)+1 > float64(r.Phases.End)+0.25 }
	var bands []band
	for _, f := range r.Faults {
		if f.Injected || f.End > f.Start {
			bands = append(bands, band{From: float64(f.Start), To: float64(f.End), Label: f.Name})
		}
	}
	var marks []mark
	if r.Phases.Rollback > 0 {
		marks = append(marks, mark{X: float64(r.Phases.Rollback), Label: "rollback"})
	}
	base := func(title, unit string) chart {
		return chart{Title: title, Unit: unit, XMax: end, Bands: bands, Marks: marks}
	}
	stat := func(f func(Stats) float64) []xy {
		pts := make([]xy, 0, len(r.Load.Seconds))
		for _, s := range r.Load.Seconds {
			y := math.NaN()
			if s.Completed > 0 && !partial(s) {
				y = f(s.Stats)
			}
			pts = append(pts, xy{X: float64(s.T) + 0.5, Y: y})
		}
		return pts
	}
	lat := base("Latency percentiles (from intended send time)", "ms")
	lat.Lines = []line{
		{Name: "p50", Color: cP50, Pts: stat(func(s Stats) float64 { return s.Latency.P50 })},
		{Name: "p95", Color: cP95, Pts: stat(func(s Stats) float64 { return s.Latency.P95 })},
		{Name: "p99", Color: cP99, Pts: stat(func(s Stats) float64 { return s.Latency.P99 })},
		{Name: "TTFT p99", Color: cTTFT, Dash: true, Pts: stat(func(s Stats) float64 { return s.TTFT.P99 })},
	}
	errs := base("Error rate", "%")
	errs.Lines = []line{{Name: "errors", Color: cErr, Pts: stat(func(s Stats) float64 { return 100 * s.ErrorRate })}}
	connects := false
	for _, s := range r.Load.Seconds {
		connects = connects || s.Connects > 0
	}
	var conn chart
	if connects {
		// What a new client sees: connect time and time to first byte,
		// and connections that failed before any byte.
		perConn := func(f func(Stats) float64) []xy {
			return stat(func(s Stats) float64 {
				if s.Connects == 0 {
					return math.NaN()
				}
				return f(s)
			})
		}
		conn = base("New connections: connect time and time to first byte", "ms")
		conn.Lines = []line{
			{Name: "connect p99", Color: cConn, Pts: perConn(func(s Stats) float64 { return qP99(s.Connect) })},
			{Name: "TTFB p99", Color: cTTFT, Dash: true, Pts: stat(func(s Stats) float64 { return qP99(s.TTFB) })},
		}
		errs.Lines = append(errs.Lines, line{Name: "connect errors", Color: cConn, Dash: true, Pts: perConn(func(s Stats) float64 { return 100 * s.ConnectErrorRate })})
	}
	deg := base("Degraded share (fallback answers)", "%")
	deg.Lines = []line{{Name: "degraded", Color: cDeg, Pts: stat(func(s Stats) float64 { return 100 * s.DegradedShare })}}
	errs.YMax, deg.YMax = pctMax(errs.Lines...), pctMax(deg.Lines...)
	rate := base("Requests per second (completed)", "")
	rate.Lines = []line{{Name: "all", Color: cRate, Pts: stat(func(s Stats) float64 { return s.Rate })}}
	out := []chart{lat, errs, deg}
	if connects {
		out = append(out, conn)
	}
	if len(r.Load.Classes) > 0 {
		byClass := base("p99 latency by class", "ms")
		for i, c := range r.Load.Classes {
			color := classColors[i%len(classColors)]
			p99 := make([]xy, 0, len(r.Load.Seconds))
			rt := make([]xy, 0, len(r.Load.Seconds))
			for _, s := range r.Load.Seconds {
				cs, ok := s.Classes[c]
				y, n := math.NaN(), math.NaN()
				if ok && cs.Completed > 0 && !partial(s) {
					y, n = cs.Latency.P99, cs.Rate
				}
				p99 = append(p99, xy{X: float64(s.T) + 0.5, Y: y})
				rt = append(rt, xy{X: float64(s.T) + 0.5, Y: n})
			}
			byClass.Lines = append(byClass.Lines, line{Name: c, Color: color, Pts: p99})
			rate.Lines = append(rate.Lines, line{Name: c, Color: color, Pts: rt})
		}
		out = append(out, byClass)
	}
	out = append(out, rate)
	if c, ok := selfChart(r, base); ok {
		out = append(out, c)
	}
	out = append(out, faultCharts(r, base)...)
	for _, s := range r.Series {
		c := base(s.Check+" — "+s.Name, "")
		pts := make([]xy, len(s.Points))
		for i, p := range s.Points {
			pts[i] = xy{X: float64(p.T), Y: p.Value}
		}
		c.Lines = []line{{Name: "sampled", Color: cP95, Step: true, Pts: pts}}
		if s.Kind == verify.BreakerKind {
			c.Title = "Breaker state — " + strings.TrimPrefix(s.Name, "open: ")
			c.YTicks = []string{"closed", "open"}
			c.Lines[0].Name, c.Lines[0].Color = "open", cErr
		}
		out = append(out, c)
	}
	return out
}

// qP99 is q's p99, NaN when nothing was measured.
func qP99(q *Quantiles) float64 {
	if q == nil || q.Count == 0 {
		return math.NaN()
	}
	return q.P99
}

// pctMax scales a percentage chart: at least 1%, at most 100%.
func pctMax(lines ...line) float64 {
	m := 1.0
	for _, l := range lines {
		for _, p := range l.Pts {
			if !math.IsNaN(p.Y) {
				m = math.Max(m, p.Y)
			}
		}
	}
	top, _ := niceTicks(m, 5)
	return math.Min(top, 100)
}
