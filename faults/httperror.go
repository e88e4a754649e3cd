package faults

import (
	"context"

	"github.com/chaos-sre/chaos/internal/units"
)

// HTTPError makes the fault proxy in front of the target answer a share of
// requests itself with an error status — the 503 "overloaded" / 429 "server
// busy" an inference API returns — with an optional Retry-After, or with a
// malformed or truncated JSON body.
type HTTPError struct {
	Status     int            `yaml:"status,omitempty" json:"status,omitempty" jsonschema:"default=503,minimum=200,maximum=599,description=400-599; 200-599 with corrupt"`
	RetryAfter units.Duration `yaml:"retry_after,omitempty" json:"retry_after,omitempty" jsonschema:"description=sent as Retry-After seconds; 0 sends none,default=1s"`
	Body       string         `yaml:"body,omitempty" json:"body,omitempty" jsonschema:"description=answer body; default an OpenAI-style error JSON"`
	Corrupt    string         `yaml:"corrupt,omitempty" json:"corrupt,omitempty" jsonschema:"enum=malformed,enum=truncated,description=malformed: the body is not JSON; truncated: the connection closes mid-body"`
	Share      `yaml:",inline"`
	Match      `yaml:",inline"`

	changes
}

var _ Fault = (*HTTPError)(nil)

// Validate implements Fault.
func (h *HTTPError) Validate() []units.Problem {
	ps := h.Share.validate()
	switch h.Corrupt {
	case "":
		if h.Status < 400 || h.Status > 599 {
			ps = append(ps, units.Problemf("status", "%d is not an error status (valid: 400 to 599, e.g. 429, 503; 200 to 599 with corrupt)", h.Status))
		}
	case "malformed", "truncated":
		if h.Status < 200 || h.Status > 599 {
			ps = append(ps, units.Problemf("status", "%d is out of range (valid: 200 to 599)", h.Status))
		}
	default:
		ps = append(ps, units.Problemf("corrupt", "%q is not valid (valid: malformed, truncated)", h.Corrupt))
	}
	return ps
}

// Inject implements Fault.
func (h *HTTPError) Inject(ctx context.Context, env Env) error {
	return addProxySpec(env, &h.changes, "http-error", h)
}

// Rollback implements Fault.
func (h *HTTPError) Rollback(ctx context.Context) error { return h.rollback(ctx) }
