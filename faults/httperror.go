package faults

import (
	"context"

	"github.com/chaos-sre/chaos/faults/proxy"
	"github.com/chaos-sre/chaos/internal/units"
)

// HTTPError makes the fault proxy in front of the target answer a share of
// requests itself with an error status — the 503 "overloaded" / 429 "server
// busy" an inference API returns — with an optional Retry-After.
type HTTPError struct {
	Status     int            `yaml:"status,omitempty" json:"status,omitempty" jsonschema:"default=503,minimum=400,maximum=599"`
	Share      units.Percent  `yaml:"share,omitempty" json:"share,omitempty" jsonschema:"default=100%"`
	RetryAfter units.Duration `yaml:"retry_after,omitempty" json:"retry_after,omitempty" jsonschema:"description=sent as Retry-After seconds; 0 sends none"`
	Body       string         `yaml:"body,omitempty" json:"body,omitempty" jsonschema:"description=answer body; default an OpenAI-style error JSON"`

	changes
}

var _ Fault = (*HTTPError)(nil)

// Validate implements Fault.
func (h *HTTPError) Validate() []units.Problem {
	if h.Status < 400 || h.Status > 599 {
		return []units.Problem{units.Problemf("status", "%d is not an error status (valid: 400 to 599, e.g. 429, 503)", h.Status)}
	}
	return nil
}

// Inject implements Fault.
func (h *HTTPError) Inject(ctx context.Context, env Env) error {
	return addProxyFault(env, &h.changes, "http-error", func() proxy.Fault {
		return &proxy.HTTPError{Status: h.Status, RetryAfter: h.RetryAfter.D(), Body: h.Body, Chance: proxy.NewChance(h.Share.Fraction(), env.Rand.Uint64())}
	})
}

// Rollback implements Fault.
func (h *HTTPError) Rollback(ctx context.Context) error { return h.rollback(ctx) }
