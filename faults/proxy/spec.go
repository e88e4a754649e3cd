package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
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

// kindDef builds one kind for an http route, a tcp route, or both.
type kindDef struct {
	http func(p []byte, b base) (Fault, error)
	tcp  func(p []byte, b connBase) (ConnFault, error)
}

// kinds is every fault kind a route can run, by the name experiments use.
var kinds = map[string]kindDef{
	"latency":      {http: httpLatency, tcp: tcpLatency},
	"jitter":       {http: httpJitter, tcp: tcpJitter},
	"http-error":   {http: httpError},
	"ttfb":         {http: httpTTFB},
	"stream-stall": {http: httpStreamStall},
	"stream-cut":   {http: httpStreamCut},
	"slow-tokens":  {http: httpSlowTokens},
	"fail-first":   {http: httpFailFirst},
	"bandwidth":    {tcp: tcpBandwidth},
	"reset":        {tcp: tcpReset},
	"timeout":      {tcp: tcpBlackhole},
	"blackhole":    {tcp: tcpBlackhole},
	"slow-close":   {tcp: tcpSlowClose},
	"slicer":       {tcp: tcpSlicer},
	"limit-data":   {tcp: tcpLimitData},
}

// Kinds lists the kinds a route of mode m runs.
func Kinds(m Mode) []string {
	var out []string
	for k, d := range kinds {
		if (m == ModeHTTP && d.http != nil) || (m == ModeTCP && d.tcp != nil) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// build turns a spec into the route's runtime fault. Unknown kinds, a kind
// of the other mode, unknown or bad params are errors naming what is valid.
func (rt *Route) build(in *installed, s Spec) error {
	d, ok := kinds[s.Kind]
	if !ok {
		return fmt.Errorf("proxy %s: unknown fault kind %q (valid: %s)", rt.name, s.Kind, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
	}
	params := s.Params
	if len(bytes.TrimSpace(params)) == 0 || string(bytes.TrimSpace(params)) == "null" {
		params = []byte("{}")
	}
	var c Common
	if err := json.Unmarshal(params, &c); err != nil {
		return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
	}
	in.spec = s
	switch rt.mode {
	case ModeTCP:
		if d.tcp == nil {
			return fmt.Errorf("proxy %s: %s is an HTTP fault and the route is in tcp mode (valid on tcp routes: %s)", rt.name, s.Kind, strings.Join(Kinds(ModeTCP), ", "))
		}
		dir, err := c.direction()
		if err != nil {
			return fmt.Errorf("proxy %s: %s: %w", rt.name, s.Kind, err)
		}
		f, err := d.tcp(params, connBase{Chance: c.chance(s.Seed), Dir: dir, hits: &in.hits, removed: in.removed})
		if err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		in.conn = f
	default:
		if d.http == nil {
			return fmt.Errorf("proxy %s: %s is an L4 fault and the route is in http mode (valid on http routes: %s; run `chaos proxy --mode tcp` for L4 faults)", rt.name, s.Kind, strings.Join(Kinds(ModeHTTP), ", "))
		}
		if c.Direction != "" {
			return fmt.Errorf("proxy %s: %s: direction applies to tcp routes only", rt.name, s.Kind)
		}
		f, err := d.http(params, base{Chance: c.chance(s.Seed), Match: c.match(), hits: &in.hits})
		if err != nil {
			return fmt.Errorf("proxy %s: %s params: %w", rt.name, s.Kind, err)
		}
		in.http = f
	}
	return nil
}

// decodeParams decodes a kind's params into v (which embeds Common),
// refusing unknown fields.
func decodeParams(p []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(p))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// Match selects the requests an http fault acts on; empty fields match all.
// Path is a prefix ("/v1/chat"), Method is exact, every header must equal
// (case-insensitive names, exact values).
type Match struct {
	Path    string
	Method  string
	Headers map[string]string
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
