package verify

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHTTPCheck(t *testing.T) {
	w := win("slow-primary", 5, 20)
	tests := []struct {
		name string
		// answer is the status and body the server gives at second s
		answer     func(s float64) (int, string)
		check      func(c *HTTPCheck)
		down       bool
		held       bool
		measured   string
		wantReason string
	}{
		{
			name:     "healthy throughout",
			answer:   func(float64) (int, string) { return 200, "ok" },
			held:     true,
			measured: "15/15 probes succeeded",
		},
		{
			name: "3 of 15 fail",
			answer: func(s float64) (int, string) {
				if s >= 10 && s < 13 {
					return 503, "busy"
				}
				return 200, "ok"
			},
			measured:   "12/15 probes succeeded",
			wantReason: "3/15 probes failed: status 503 over slow-primary",
		},
		{
			name: "3 of 15 fail within min_success 80%",
			answer: func(s float64) (int, string) {
				if s >= 10 && s < 13 {
					return 503, "busy"
				}
				return 200, "ok"
			},
			check: func(c *HTTPCheck) { c.MinSuccess = pct(80) },
			held:  true,
		},
		{
			name: "failures outside the window do not count",
			answer: func(s float64) (int, string) {
				if s < 5 || s >= 20 {
					return 500, "down"
				}
				return 200, "ok"
			},
			held: true,
		},
		{
			name: "body lacks contains, and other statuses",
			answer: func(s float64) (int, string) {
				switch {
				case s >= 15:
					return 200, `{"status":"degraded"}`
				case s >= 13:
					return 429, "slow down"
				}
				return 200, `{"status":"ok"}`
			},
			check:      func(c *HTTPCheck) { c.Contains = `"ok"` },
			wantReason: `7/15 probes failed: body without "\"ok\"" ×5, status 429 ×2 over slow-primary`,
		},
		{
			name:   "expected status",
			answer: func(float64) (int, string) { return 503, "" },
			check:  func(c *HTTPCheck) { c.Status = 503 },
			held:   true,
		},
		{
			name:       "unreachable",
			down:       true,
			answer:     func(float64) (int, string) { return 200, "" },
			wantReason: "15/15 probes failed: error: Get",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var now float64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				mu.Lock()
				code, body := tt.answer(now)
				mu.Unlock()
				w.WriteHeader(code)
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			c := Kinds["http"].New().(*HTTPCheck)
			c.URL = srv.URL + "/healthz"
			if tt.check != nil {
				tt.check(c)
			}
			assert.Empty(t, c.Validate())
			if tt.down {
				srv.Close()
			}
			for s := 0.0; s <= 25; s += 0.25 {
				mu.Lock()
				now = s
				mu.Unlock()
				sampleAt(t, c, s, w)
			}
			r := c.Evaluate(context.Background(), Evidence{Window: w})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			if tt.measured != "" {
				assert.Equal(t, tt.measured, r.Measured)
			}
			assert.Contains(t, r.Reason, tt.wantReason)
		})
	}
	t.Run("no probes", func(t *testing.T) {
		c := Kinds["http"].New().(*HTTPCheck)
		c.URL = "http://127.0.0.1:1/"
		r := c.Evaluate(context.Background(), Evidence{Window: w})
		assert.False(t, r.Held)
		assert.Equal(t, "no probes ran over slow-primary", r.Reason)
	})
}

func TestHTTPValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  HTTPCheck
		fields []string
	}{
		{"url with variable", HTTPCheck{URL: "${gateway}/healthz"}, nil},
		{"no url", HTTPCheck{}, []string{"url"}},
		{"not http", HTTPCheck{URL: "ftp://x/"}, []string{"url"}},
		{"bad method and status", HTTPCheck{URL: "http://x/", Method: "FETCH", Status: 999}, []string{"method", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}
