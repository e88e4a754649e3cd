package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// HTTP probe timing.
const (
	ProbeEvery   = time.Second
	ProbeTimeout = 2 * time.Second
	// maxProbeBody bounds the body read when looking for contains.
	maxProbeBody = 1 << 20
)

// HTTPCheck probes a URL about once a second for the whole run and judges
// the probes started in its window: the share that answered with the
// expected status (and body substring) must reach min_success.
type HTTPCheck struct {
	URL        string         `yaml:"url" jsonschema:"description=URL to probe e.g. ${gateway}/healthz"`
	Method     string         `yaml:"method,omitempty" jsonschema:"description=HTTP method,default=GET"`
	Status     int            `yaml:"status,omitempty" jsonschema:"description=expected status code,default=200"`
	Contains   string         `yaml:"contains,omitempty" jsonschema:"description=a substring the body must contain"`
	MinSuccess *units.Percent `yaml:"min_success,omitempty" jsonschema:"description=share of probes that must succeed,default=100%"`

	st *httpState // created on first use
}

// httpState is an HTTPCheck's probes so far.
type httpState struct {
	bg     background
	mu     sync.Mutex
	probes []probe
}

// probe is one probe's outcome; fail is empty on success.
type probe struct {
	at   time.Time
	fail string
}

var (
	_ Check   = (*HTTPCheck)(nil)
	_ Sampler = (*HTTPCheck)(nil)
)

// Validate checks the URL, method and status.
func (c *HTTPCheck) Validate() []units.Problem {
	ps := checkURL("url", c.URL)
	switch c.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodOptions:
	default:
		ps = append(ps, units.Problemf("method", "%q is not supported (valid: GET, HEAD, POST, PUT, DELETE, OPTIONS)", c.Method))
	}
	if c.Status != 0 && (c.Status < 100 || c.Status > 599) {
		ps = append(ps, units.Problemf("status", "%d is not an HTTP status (valid: 100 to 599)", c.Status))
	}
	return ps
}

func (c *HTTPCheck) status() int {
	if c.Status == 0 {
		return http.StatusOK
	}
	return c.Status
}

func (c *HTTPCheck) minSuccess() float64 {
	if c.MinSuccess == nil {
		return 1
	}
	return c.MinSuccess.Fraction()
}

// Sample starts a probe when a second has passed since the last one.
func (c *HTTPCheck) Sample(ctx context.Context, now time.Time, _ Window) {
	st := lazy(&c.st)
	st.bg.start(now, ProbeEvery, func() {
		fail := c.probe(ctx)
		if ctx.Err() != nil {
			return // cut short by the run ending, not by the target
		}
		st.mu.Lock()
		st.probes = append(st.probes, probe{at: now, fail: fail})
		st.mu.Unlock()
	})
}

// probe sends one request and says what was wrong with the answer.
func (c *HTTPCheck) probe(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return "timeout after " + ProbeTimeout.String()
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxProbeBody))
	switch {
	case resp.StatusCode != c.status():
		return fmt.Sprintf("status %d", resp.StatusCode)
	case err != nil:
		return "body: " + err.Error()
	case c.Contains != "" && !strings.Contains(string(body), c.Contains):
		return fmt.Sprintf("body without %q", c.Contains)
	}
	return ""
}

// Evaluate judges the probes started in the window.
func (c *HTTPCheck) Evaluate(_ context.Context, ev Evidence) Result {
	bound := fmt.Sprintf("≥ %s of probes %s %s answer %d", fmtPct(c.minSuccess()), c.methodOr(), c.URL, c.status())
	if c.Contains != "" {
		bound += fmt.Sprintf(" containing %q", c.Contains)
	}
	if r, bad := windowProblem(ev.Window, "", bound); bad {
		return r
	}
	st := lazy(&c.st)
	st.bg.wait()
	st.mu.Lock()
	var n, bad int
	reasons := map[string]int{}
	for _, p := range st.probes {
		if p.at.Before(ev.Window.From) || !p.at.Before(ev.Window.To) {
			continue
		}
		n++
		if p.fail != "" {
			bad++
			reasons[p.fail]++
		}
	}
	st.mu.Unlock()
	measured := fmt.Sprintf("%d/%d probes succeeded", n-bad, n)
	if n == 0 {
		return failed(measured, bound, "no probes ran over %s", ev.Window)
	}
	if share := float64(n-bad) / float64(n); share < c.minSuccess() {
		return failed(measured, bound, "%d/%d probes failed: %s over %s", bad, n, topReasons(reasons), ev.Window)
	}
	return held(measured, bound)
}

func (c *HTTPCheck) methodOr() string {
	if c.Method == "" {
		return http.MethodGet
	}
	return c.Method
}

// topReasons prints failure reasons, most frequent first, with counts when
// there are several kinds.
func topReasons(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) == 1 {
		return keys[0]
	}
	parts := make([]string, 0, 3)
	for i, k := range keys {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
