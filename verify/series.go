package verify

import "time"

// Point is one sample of a metric series.
type Point struct {
	At    time.Time
	Value float64
}

// Series is implemented by checks that sample a metric over the run, so the
// report can chart it next to the load timeline (breaker state over time, a
// shed counter). name says what the values are; points are in time order and
// hold only the scrapes that succeeded so far.
type Series interface {
	Series() (name string, points []Point)
}

var (
	_ Series = (*BreakerCheck)(nil)
	_ Series = (*PrometheusCheck)(nil)
)

// Series is the breaker state over time: 1 while any matching series equals
// the open value, else 0. Behaviour mode (fast) samples nothing.
func (c *BreakerCheck) Series() (string, []Point) {
	if c.Metric == nil {
		return "", nil
	}
	got, _ := lazy(&c.scrapes).landed(time.Time{}, time.Time{})
	pts := make([]Point, 0, len(got))
	for _, sc := range got {
		if len(sc.Series) == 0 {
			continue
		}
		v := 0.0
		if c.isOpen(sc) {
			v = 1
		}
		pts = append(pts, Point{At: sc.At, Value: v})
	}
	return "open: " + selector(c.Metric.Name, c.Metric.Labels), pts
}

// Series is the sum of the matching series at every scrape.
func (c *PrometheusCheck) Series() (string, []Point) {
	got, _ := lazy(&c.scrapes).landed(time.Time{}, time.Time{})
	pts := make([]Point, 0, len(got))
	for _, sc := range got {
		if len(sc.Series) == 0 {
			continue
		}
		sum := 0.0
		for _, v := range sc.Series {
			sum += v
		}
		pts = append(pts, Point{At: sc.At, Value: sum})
	}
	return selector(c.Metric, c.Labels), pts
}
