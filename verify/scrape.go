package verify

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ScrapeTimeout bounds one scrape of a /metrics endpoint.
const ScrapeTimeout = 2 * time.Second

// maxScrapeBytes bounds the body read from a /metrics endpoint.
const maxScrapeBytes = 16 << 20

// stateMu guards the lazy creation of checks' run state, which lives behind
// a pointer so that a check's parameters stay a plain copyable value.
var stateMu sync.Mutex

// lazy returns *p, creating it on first use.
func lazy[T any](p **T) *T {
	stateMu.Lock()
	defer stateMu.Unlock()
	if *p == nil {
		*p = new(T)
	}
	return *p
}

// background runs a Sampler's slow work off the engine's goroutine, at most
// one task at a time and at most once per every.
type background struct {
	mu   sync.Mutex
	busy bool
	last time.Time
	wg   sync.WaitGroup
}

// start runs f in a goroutine unless a task is running or less than every
// has passed since the last start; it says whether f was started.
func (b *background) start(now time.Time, every time.Duration, f func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy || (!b.last.IsZero() && now.Sub(b.last) < every) {
		return false
	}
	b.busy, b.last = true, now
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer func() { b.mu.Lock(); b.busy = false; b.mu.Unlock() }()
		f()
	}()
	return true
}

// wait blocks until the running task, if any, has finished.
func (b *background) wait() { b.wg.Wait() }

// scrape is one scrape of a metric: when it was taken, the value of every
// series that matched by label signature, or why it failed.
type scrape struct {
	At     time.Time
	Series map[string]float64
	Err    error
}

// metricSampler scrapes one metric (name and labels) from a Prometheus text
// endpoint on every Sample and keeps every scrape.
type metricSampler struct {
	bg      background
	mu      sync.Mutex
	scrapes []scrape
}

// sample starts a scrape recorded at now; a scrape cut short because ctx
// ended is dropped rather than counted as a failure.
func (s *metricSampler) sample(ctx context.Context, now time.Time, url, name string, labels map[string]string) {
	s.bg.start(now, 0, func() {
		series, err := scrapeMetric(ctx, url, name, labels)
		if ctx.Err() != nil {
			return
		}
		s.mu.Lock()
		s.scrapes = append(s.scrapes, scrape{At: now, Series: series, Err: err})
		s.mu.Unlock()
	})
}

// between returns the scrapes taken in [from, to] (to zero: no end), after
// waiting for one in flight.
func (s *metricSampler) between(from, to time.Time) (got []scrape, lastErr error) {
	s.bg.wait()
	return s.landed(from, to)
}

// landed is between without waiting: the scrapes that have landed so far.
func (s *metricSampler) landed(from, to time.Time) (got []scrape, lastErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sc := range s.scrapes {
		if sc.At.Before(from) || (!to.IsZero() && sc.At.After(to)) {
			continue
		}
		if sc.Err != nil {
			lastErr = sc.Err
			continue
		}
		got = append(got, sc)
	}
	return got, lastErr
}

// scrapeMetric GETs a Prometheus text endpoint and returns the value of each
// series of name whose labels include labels, keyed by its label signature.
// name may be a counter, gauge or untyped family, or the _sum or _count of a
// summary or histogram. No matching series is an empty map, not an error: a
// metric may appear only once the behaviour it counts first happens.
func scrapeMetric(ctx context.Context, url, name string, labels map[string]string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, ScrapeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(io.LimitReader(resp.Body, maxScrapeBytes))
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	return matchSeries(fams, name, labels), nil
}

// matchSeries picks the series of name matching labels out of parsed families.
func matchSeries(fams map[string]*dto.MetricFamily, name string, labels map[string]string) map[string]float64 {
	out := map[string]float64{}
	fam, suffix := fams[name], ""
	if fam == nil {
		for _, sfx := range []string{"_count", "_sum"} {
			if base, ok := strings.CutSuffix(name, sfx); ok && fams[base] != nil {
				fam, suffix = fams[base], sfx
			}
		}
	}
	if fam == nil {
		return out
	}
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		if !labelsMatch(have, labels) {
			continue
		}
		if v, ok := metricValue(m, suffix); ok {
			out[signature(have)] = v
		}
	}
	return out
}

// labelsMatch is Prometheus equality matching: a wanted empty value matches
// an absent label.
func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// metricValue reads a sample's value; suffix selects a summary's or
// histogram's _count or _sum.
func metricValue(m *dto.Metric, suffix string) (float64, bool) {
	switch {
	case suffix == "" && m.GetGauge() != nil:
		return m.GetGauge().GetValue(), true
	case suffix == "" && m.GetCounter() != nil:
		return m.GetCounter().GetValue(), true
	case suffix == "" && m.GetUntyped() != nil:
		return m.GetUntyped().GetValue(), true
	case suffix == "_count" && m.GetSummary() != nil:
		return float64(m.GetSummary().GetSampleCount()), true
	case suffix == "_sum" && m.GetSummary() != nil:
		return m.GetSummary().GetSampleSum(), true
	case suffix == "_count" && m.GetHistogram() != nil:
		return float64(m.GetHistogram().GetSampleCount()), true
	case suffix == "_sum" && m.GetHistogram() != nil:
		return m.GetHistogram().GetSampleSum(), true
	}
	return 0, false
}

// signature prints a label set in sorted order, as a series key.
func signature(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// selector prints name{labels} for reasons.
func selector(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	return name + signature(labels)
}
