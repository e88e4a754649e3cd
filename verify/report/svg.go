package report

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// chart is one inline SVG time chart: lines over seconds of the run, fault
// windows shaded, rollback marked. Generated here so the HTML page needs no
// script and no network.
type chart struct {
	Title  string
	Unit   string // y axis unit, e.g. "ms", "%"
	XMax   float64
	YMax   float64  // 0: from the data
	YTicks []string // fixed y labels at 0..n-1 (breaker: closed, open)
	Lines  []line
	Bands  []band
	Marks  []mark
}

type line struct {
	Name, Color string
	Pts         []xy // NaN y breaks the line
	Step, Dash  bool
}

type xy struct{ X, Y float64 }

type band struct {
	From, To float64
	Label    string
}

type mark struct {
	X     float64
	Label string
}

// Chart geometry in SVG units (the SVG scales to the page width).
const (
	chartW, chartH                  = 1080.0, 210.0
	padL, padR, padT, padB          = 64.0, 16.0, 30.0, 26.0
	plotW, plotH                    = chartW - padL - padR, chartH - padT - padB
	bandFill, gridStroke, axisColor = "#f2545b22", "#e5e7eb", "#6b7280"
)

// SVG renders the chart.
func (c chart) SVG() template.HTML {
	ymax := c.YMax
	if ymax == 0 {
		for _, l := range c.Lines {
			for _, p := range l.Pts {
				if !math.IsNaN(p.Y) {
					ymax = math.Max(ymax, p.Y)
				}
			}
		}
	}
	var yt []float64
	if len(c.YTicks) > 0 {
		ymax = float64(len(c.YTicks) - 1)
		for i := range c.YTicks {
			yt = append(yt, float64(i))
		}
	} else {
		ymax, yt = niceTicks(ymax, 5)
	}
	xmax := math.Max(c.XMax, 1)
	X := func(x float64) float64 { return padL + plotW*x/xmax }
	Y := func(y float64) float64 { return padT + plotH*(1-y/ymax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %g %g" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="%s">`, chartW, chartH, template.HTMLEscapeString(c.Title))
	fmt.Fprintf(&b, `<text x="%g" y="18" class="ct">%s</text>`, padL, template.HTMLEscapeString(c.Title))
	lx := chartW - padR
	for i := len(c.Lines) - 1; i >= 0; i-- {
		l := c.Lines[i]
		name := template.HTMLEscapeString(l.Name)
		fmt.Fprintf(&b, `<text x="%g" y="18" class="lg" text-anchor="end">%s</text>`, lx, name)
		lx -= 7.2*float64(len([]rune(l.Name))) + 6
		fmt.Fprintf(&b, `<rect x="%g" y="10" width="12" height="4" fill="%s"/>`, lx-12, l.Color)
		lx -= 26
	}
	for _, bd := range c.Bands {
		x0, x1 := X(bd.From), X(math.Min(bd.To, xmax))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%g" width="%.1f" height="%g" fill="%s"/>`, x0, padT, math.Max(x1-x0, 1), plotH, bandFill)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="bl">%s</text>`, x0+4, padT+12, template.HTMLEscapeString(bd.Label))
	}
	for i, v := range yt {
		y := Y(v)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%.1f" y2="%.1f" stroke="%s"/>`, padL, padL+plotW, y, y, gridStroke)
		label := fmtTick(v) + c.Unit
		if c.Unit == "ms" {
			label = FormatMs(v)
		}
		if len(c.YTicks) > 0 {
			label = c.YTicks[i]
		}
		fmt.Fprintf(&b, `<text x="%g" y="%.1f" class="ax" text-anchor="end">%s</text>`, padL-6, y+4, template.HTMLEscapeString(label))
	}
	_, xt := niceTicks(xmax, 10)
	for _, v := range xt {
		if v > xmax {
			break
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="ax" text-anchor="middle">%ss</text>`, X(v), chartH-8, fmtTick(v))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="%s"/>`, X(v), X(v), padT+plotH, padT+plotH+4, axisColor)
	}
	fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="%s"/>`, padL, padL+plotW, padT+plotH, padT+plotH, axisColor)
	for _, m := range c.Marks {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="%s" stroke-dasharray="3 3"/>`, X(m.X), X(m.X), padT, padT+plotH, axisColor)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" class="bl" text-anchor="end">%s</text>`, X(m.X)-3, padT+plotH-4, template.HTMLEscapeString(m.Label))
	}
	for _, l := range c.Lines {
		d := path(l, X, Y)
		if d == "" {
			continue
		}
		dash := ""
		if l.Dash {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"%s/>`, d, l.Color, dash)
	}
	if len(c.Lines) == 0 || allEmpty(c.Lines) {
		fmt.Fprintf(&b, `<text x="%g" y="%g" class="ax" text-anchor="middle">no data</text>`, padL+plotW/2, padT+plotH/2)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// path draws a line; NaN breaks it, Step holds each value until the next.
func path(l line, X, Y func(float64) float64) string {
	var b strings.Builder
	pen := false
	for _, p := range l.Pts {
		if math.IsNaN(p.Y) {
			pen = false
			continue
		}
		switch {
		case !pen:
			fmt.Fprintf(&b, "M%.1f %.1f", X(p.X), Y(p.Y))
		case l.Step:
			fmt.Fprintf(&b, "H%.1fV%.1f", X(p.X), Y(p.Y))
		default:
			fmt.Fprintf(&b, "L%.1f %.1f", X(p.X), Y(p.Y))
		}
		pen = true
	}
	return b.String()
}

func allEmpty(ls []line) bool {
	for _, l := range ls {
		for _, p := range l.Pts {
			if !math.IsNaN(p.Y) {
				return false
			}
		}
	}
	return true
}

// niceTicks rounds max up to a 1-2-5 step and returns the ticks from 0.
func niceTicks(max float64, n int) (float64, []float64) {
	if max <= 0 || math.IsNaN(max) {
		max = 1
	}
	raw := max / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	top := math.Ceil(max/step-1e-9) * step
	var ticks []float64
	for v := 0.0; v <= top+step/2; v += step {
		ticks = append(ticks, v)
	}
	return top, ticks
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}
