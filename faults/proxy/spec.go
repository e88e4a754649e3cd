package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/chaos-sre/chaos/internal/units"
)

// Spec is a fault as data: what the control API accepts and what experiment
// fault kinds hand to a route, local or remote. Params is the kind's JSON
// (durations as text, "200ms"; shares as "50%"); Seed makes draws repeat.
type Spec struct {
	Kind   string          `json:"kind"`
	Params json.RawMessage `json:"params,omitempty"`
	Seed   uint64          `json:"seed,omitempty"`
}

// Common are the parameters every proxy fault takes: which share of requests
// (http) or connections (tcp) it hits, which requests it matches (http), and
// which way it acts (tcp).
type Common struct {
	Share     *units.Percent    `json:"share,omitempty"`
	Path      string            `json:"path,omitempty"`
	Method    string            `json:"method,omitempty"`
	Headers   map[string]string `json:"headers,omitempty"`
	Direction string            `json:"direction,omitempty"`
}

func (c Common) chance(seed uint64) *Chance {
	share := 1.0
	if c.Share != nil {
		share = c.Share.Fraction()
	}
	return NewChance(share, seed)
}

func (c Common) match() Match {
	return Match{Path: c.Path, Method: strings.ToUpper(c.Method), Headers: c.Headers}
}

func (c Common) direction() (Direction, error) { return ParseDirection(c.Direction) }

// build turns a spec into the route's runtime fault. Unknown kinds, a kind
// of the other mode, unknown or bad params are errors naming what is valid.
func (rt *Route) build(in *installed, s Spec) error {
	k, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("proxy %s: unknown fault kind %q (valid: %s)", rt.name, s.Kind, strings.Join(KindNames(), ", "))
	}
	params := s.Params
	if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
		params = []byte("{}")
	}
	var c Common
	if err := json.Unmarshal(params, &c); err != nil {
		return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
	}
	p := k.bare()
	in.spec = s
	switch rt.mode {
	case ModeTCP:
		tk, ok := p.(tcpKind)
		if !ok {
			return fmt.Errorf("proxy %s: %s is an HTTP fault and the route is in tcp mode (valid on tcp routes: %s)", rt.name, s.Kind, strings.Join(Kinds(ModeTCP), ", "))
		}
		dir, err := c.direction()
		if err != nil {
			return fmt.Errorf("proxy %s: %s: %w", rt.name, s.Kind, err)
		}
		if err := decodeParams(params, p); err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		f, err := tk.tcp(c, connBase{Chance: c.chance(s.Seed), Dir: dir, hits: &in.hits, removed: in.removed})
		if err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		in.conn = f
	default:
		hk, ok := p.(httpKind)
		if !ok {
			return fmt.Errorf("proxy %s: %s is an L4 fault and the route is in http mode (valid on http routes: %s; run `chaos proxy --mode tcp` for L4 faults)", rt.name, s.Kind, strings.Join(Kinds(ModeHTTP), ", "))
		}
		if c.Direction != "" {
			return fmt.Errorf("proxy %s: %s: direction applies to tcp routes only", rt.name, s.Kind)
		}
		if err := decodeParams(params, p); err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		f, err := hk.http(c, base{Chance: c.chance(s.Seed), Match: c.match(), hits: &in.hits})
		if err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		in.http = f
	}
	return nil
}

// commonKeys are the params every kind takes (Common): the route reads them
// from Common, so a kind's own struct need not declare them all.
var commonKeys = []string{"share", "path", "method", "headers", "direction"}

// decodeParams decodes a kind's own params into p, refusing unknown fields;
// the common keys are read into Common by build.
func decodeParams(b []byte, p any) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for k := range m {
		if slices.Contains(commonKeys, strings.ToLower(k)) {
			delete(m, k)
		}
	}
	own, err := json.Marshal(m)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(own))
	dec.DisallowUnknownFields()
	return dec.Decode(p)
}

// Match selects the requests an http fault acts on; empty fields match all.
// Path is a prefix ("/v1/chat"), Method is exact, every header must equal
// (case-insensitive names, exact values).
type Match struct {
	Path    string            `yaml:"path,omitempty" json:"path,omitempty" jsonschema:"description=path prefix e.g. /v1/chat/completions"`
	Method  string            `yaml:"method,omitempty" json:"method,omitempty" jsonschema:"description=e.g. POST"`
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty" jsonschema:"description=every header must equal, e.g. {X-Priority: low}"`
}

// OK reports whether r matches.
func (m *Match) OK(r *http.Request) bool {
	if m.Path != "" && !strings.HasPrefix(r.URL.Path, m.Path) {
		return false
	}
	if m.Method != "" && r.Method != m.Method {
		return false
	}
	for k, v := range m.Headers {
		if r.Header.Get(k) != v {
			return false
		}
	}
	return true
}
