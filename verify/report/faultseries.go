package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// FaultPoint is one second of what a fault measured of itself: for an
// exhaust fault, the connections it held on one address at the end of the
// second, the opens refused or timed out in it, and the held connections the
// server closed or reset in it. It shows whether the server was really held
// at N or fought back (closed idle connections, refused new ones).
type FaultPoint struct {
	T       Seconds `json:"t_s" jsonschema:"description=end of the second in seconds from started"`
	Addr    string  `json:"addr,omitempty" jsonschema:"description=the address held"`
	Held    int     `json:"held" jsonschema:"description=connections held at the end of the second"`
	Refused int     `json:"refused" jsonschema:"description=opens refused or timed out during the second"`
	Reset   int     `json:"reset" jsonschema:"description=held connections the server closed or reset during the second"`
}

// SeriesSummary is one line per address of f's series — "addr: held 64 at
// the end (min 12, max 64); 9 refused, 130 reset over 10 s" — or nil
// when f has none.
func (f FaultReport) SeriesSummary() []string {
	var addrs []string
	by := map[string][]FaultPoint{}
	for _, p := range f.Series {
		if _, ok := by[p.Addr]; !ok {
			addrs = append(addrs, p.Addr)
		}
		by[p.Addr] = append(by[p.Addr], p)
	}
	var out []string
	for _, a := range addrs {
		ps := by[a]
		lo, hi, refused, reset := ps[0].Held, ps[0].Held, 0, 0
		for _, p := range ps {
			lo, hi = min(lo, p.Held), max(hi, p.Held)
			refused += p.Refused
			reset += p.Reset
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s (%s", f.Name, f.Kind)
		if a != "" {
			b.WriteString(" " + a)
		}
		fmt.Fprintf(&b, "): held %d at the end (min %d, max %d); %d refused, %d reset over %d s",
			ps[len(ps)-1].Held, lo, hi, refused, reset, len(ps))
		out = append(out, b.String())
	}
	return out
}

// faultCharts draws, per fault with a series, the connections it held and
// those refused and reset each second (several addresses are summed).
func faultCharts(r *Report, base func(title, unit string) chart) []chart {
	var out []chart
	for _, f := range r.Faults {
		if len(f.Series) == 0 {
			continue
		}
		var secs []float64
		sum := map[float64]*FaultPoint{}
		for _, p := range f.Series {
			t := math.Ceil(float64(p.T)*10) / 10
			s, ok := sum[t]
			if !ok {
				s = &FaultPoint{}
				sum[t] = s
				secs = append(secs, t)
			}
			s.Held += p.Held
			s.Refused += p.Refused
			s.Reset += p.Reset
		}
		sort.Float64s(secs)
		held, refused, reset := make([]xy, len(secs)), make([]xy, len(secs)), make([]xy, len(secs))
		for i, t := range secs {
			held[i] = xy{X: t, Y: float64(sum[t].Held)}
			refused[i] = xy{X: t, Y: float64(sum[t].Refused)}
			reset[i] = xy{X: t, Y: float64(sum[t].Reset)}
		}
		c := base("Connections held by "+f.Name+" ("+f.Kind+")", "")
		c.Lines = []line{
			{Name: "held", Color: cP95, Step: true, Pts: held},
			{Name: "refused /s", Color: cConn, Dash: true, Pts: refused},
			{Name: "reset /s", Color: cErr, Dash: true, Pts: reset},
		}
		out = append(out, c)
	}
	return out
}
