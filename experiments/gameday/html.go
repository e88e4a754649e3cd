package gameday

import (
	"bufio"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaos-sre/chaos/verify/report"
)

// WriteIndexHTML rewrites index.html of a report folder from its
// index.jsonl: one self-contained page (inline CSS and SVG, no script, no
// network) with every run's verdict and a time-to-recover trend per
// experiment.
func WriteIndexHTML(dir string) error {
	entries, err := ReadIndex(dir)
	if err != nil && err != errNoRuns {
		return fmt.Errorf("history: %w", err)
	}
	f, err := os.Create(filepath.Join(dir, IndexHTML))
	if err != nil {
		return fmt.Errorf("history page: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := indexTmpl.Execute(w, pageOf(entries)); err != nil {
		_ = f.Close()
		return fmt.Errorf("history page: %w", err)
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

type page struct {
	Suite   string
	Last    *Entry
	Runs    []Entry // newest first
	Trends  []trend
	Held    int
	Total   int
	Updated string
}

type trend struct {
	Name       string
	Last       string
	LastTTR    string
	Held, Runs int
	Spark      template.HTML
}

func pageOf(entries []Entry) page {
	p := page{Updated: time.Now().UTC().Format(time.RFC3339), Total: len(entries)}
	if len(entries) == 0 {
		return p
	}
	p.Suite = entries[len(entries)-1].Suite
	p.Runs = slices.Clone(entries)
	slices.Reverse(p.Runs)
	for i := range p.Runs { // each run's experiments failed first, as its combined report
		xs := slices.Clone(p.Runs[i].Experiments)
		slices.SortStableFunc(xs, func(a, b ExpEntry) int {
			return report.OutcomeRank(a.ExitCode) - report.OutcomeRank(b.ExitCode)
		})
		p.Runs[i].Experiments = xs
	}
	p.Last = &p.Runs[0]
	var names []string
	points := map[string][]ExpEntry{}
	for _, e := range entries {
		if e.ExitCode == 0 {
			p.Held++
		}
		for _, x := range e.Experiments {
			if _, ok := points[x.Name]; !ok {
				names = append(names, x.Name)
			}
			points[x.Name] = append(points[x.Name], x)
		}
	}
	for _, n := range names {
		ps := points[n]
		t := trend{Name: n, Runs: len(ps), Last: ps[len(ps)-1].Verdict, LastTTR: "—", Spark: sparkline(ps)}
		for _, x := range ps {
			if x.Verdict == "held" {
				t.Held++
			}
		}
		if v := ps[len(ps)-1].TimeToRecover; v != nil {
			t.LastTTR = secs(*v)
		}
		p.Trends = append(p.Trends, t)
	}
	return p
}

// sparkline draws time-to-recover over runs as inline SVG with its scale:
// a line through the runs that measured it, scaled from the smallest time
// (bottom edge) to the largest (top edge), both labelled in seconds beside
// it with the last one, so 0.3 s and 30 s do not look alike. A dot per run
// is coloured by verdict; a run without a time is a hollow dot on the
// bottom edge.
func sparkline(ps []ExpEntry) template.HTML {
	const w, h, pad, plot = 320.0, 44.0, 5.0, 210.0 // the scale labels take w-plot
	lo, hi, last := math.Inf(1), math.Inf(-1), -1
	for i, x := range ps {
		if v := x.TimeToRecover; v != nil {
			lo, hi, last = math.Min(lo, *v), math.Max(hi, *v), i
		}
	}
	xAt := func(i int) float64 {
		if len(ps) == 1 {
			return plot / 2
		}
		return pad + float64(i)*(plot-2*pad)/float64(len(ps)-1)
	}
	yAt := func(v float64) float64 {
		if hi-lo < 0.05 { // one value (times have 0.1 s resolution): a flat line mid-height
			return h / 2
		}
		return h - pad - (v-lo)/(hi-lo)*(h-2*pad)
	}
	label := "time to recover over runs: none measured"
	if last >= 0 {
		label = fmt.Sprintf("time to recover over runs: from %s to %s, last %s", secs(lo), secs(hi), secs(*ps[last].TimeToRecover))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="spark" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, w, h, w, h, template.HTMLEscapeString(label))
	var line []string
	for i, x := range ps {
		if x.TimeToRecover != nil {
			line = append(line, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(*x.TimeToRecover)))
		}
	}
	if len(line) > 1 {
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#555" stroke-width="1.5" points="%s"/>`, strings.Join(line, " "))
	}
	for i, x := range ps {
		y, fill, title := h-pad, "#fff", x.Verdict+", no time to recover"
		if x.TimeToRecover != nil {
			y, fill, title = yAt(*x.TimeToRecover), color(x.Verdict), fmt.Sprintf("%s, recovered in %s", x.Verdict, secs(*x.TimeToRecover))
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s" stroke="%s"><title>%s</title></circle>`, xAt(i), y, fill, color(x.Verdict), template.HTMLEscapeString(title))
	}
	for _, l := range scaleLabels(lo, hi, ps, last) {
		fmt.Fprintf(&b, `<text class="scale" x="%.0f" y="%.1f" font-size="10" fill="#656d76">%s</text>`, plot+6, l.y, template.HTMLEscapeString(l.text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// scaleLabel is one line of a sparkline's scale, at its baseline y.
type scaleLabel struct {
	y    float64
	text string
}

// scaleLabels are the scale beside a sparkline: max at the top edge, min at
// the bottom edge (one label when every time is the same) and the last
// time in between, or marked on max or min when it is one of them.
func scaleLabels(lo, hi float64, ps []ExpEntry, last int) []scaleLabel {
	if last < 0 {
		return []scaleLabel{{26, "no time measured"}}
	}
	v := *ps[last].TimeToRecover
	if hi-lo < 0.05 {
		return []scaleLabel{{26, secs(v) + " (last)"}}
	}
	top, mid, bottom := "max "+secs(hi), "", "min "+secs(lo)
	switch {
	case v == hi:
		top += " (last)"
	case v == lo:
		bottom += " (last)"
	default:
		mid = "last " + secs(v)
	}
	out := []scaleLabel{{10, top}, {42, bottom}}
	if mid != "" {
		out = append(out, scaleLabel{26, mid})
	}
	return out
}

// secs prints a time-to-recover in seconds at its 0.1 s resolution.
func secs(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + " s" }

func color(verdict string) string {
	switch verdict {
	case "held":
		return "#1a7f37"
	case "failed":
		return "#cf222e"
	case "aborted":
		return "#bf8700"
	case "not run":
		return "#8c959f"
	}
	return "#8250df"
}

var indexTmpl = template.Must(template.New("index").Funcs(template.FuncMap{
	"color": color,
	"when":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"took":  func(a, b time.Time) string { return b.Sub(a).Round(time.Second).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chaos game-days{{with .Suite}} — {{.}}{{end}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1f2328}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse} td,th{padding:.35rem .7rem;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:middle}
th{background:#f6f8fa} .v{display:inline-block;padding:0 .45rem;border-radius:1rem;color:#fff;font-size:.85em;margin:1px 2px}
.muted{color:#656d76} a{color:#0969da}
</style></head><body>
<h1>chaos game-days{{with .Suite}} — {{.}}{{end}}</h1>
{{if .Last}}<p>Last run {{when .Last.Started}}: <span class="v" style="background:{{color .Last.Verdict}}">{{.Last.Verdict}}</span>
(exit {{.Last.ExitCode}}) · {{.Held}} of {{.Total}} runs held · <span class="muted">updated {{.Updated}}</span></p>
{{else}}<p>No runs yet.</p>{{end}}
{{if .Trends}}<h2>Experiments</h2>
<table><tr><th>experiment</th><th>last verdict</th><th>held</th><th>time to recover, run by run</th><th>last</th></tr>
{{range .Trends}}<tr><td>{{.Name}}</td><td><span class="v" style="background:{{color .Last}}">{{.Last}}</span></td><td>{{.Held}} / {{.Runs}}</td><td>{{.Spark}}</td><td>{{.LastTTR}}</td></tr>
{{end}}</table>{{end}}
{{if .Runs}}<h2>Runs</h2>
<table><tr><th>started</th><th>took</th><th>verdict</th><th>experiments</th><th>reports</th></tr>
{{range .Runs}}<tr><td>{{when .Started}}</td><td>{{took .Started .Ended}}</td><td><span class="v" style="background:{{color .Verdict}}">{{.Verdict}}</span> exit {{.ExitCode}}</td>
<td>{{range .Experiments}}<div>{{if .Report}}<a href="{{.Report}}">{{.Name}}</a>{{else}}{{.Name}}{{end}} <span class="v" style="background:{{color .Verdict}}">{{.Verdict}}</span>{{with .Failed}} <span class="muted">failed: {{range $i, $c := .}}{{if $i}}, {{end}}{{$c}}{{end}}</span>{{end}}{{if eq .Verdict "not run"}} <span class="muted">{{.Reason}}</span>{{end}}</div>{{end}}</td>
<td><a href="{{.Dir}}/report.html">report</a> · <a href="{{.Dir}}/summary.md">summary.md</a></td></tr>
{{end}}</table>{{end}}
</body></html>
`))
