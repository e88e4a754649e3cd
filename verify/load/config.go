// Package load is chaos's open-loop load generator. It sends an inference
// stack's real requests (OpenAI-style chat completions, streaming or not) on a
// schedule of intended send times and records every result against its
// intended time, so a stalled server shows up as latency instead of as fewer
// requests (no coordinated omission). Results land in per-second, per-class
// buckets of HDR histograms whose memory stays bounded over long runs.
package load

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"time"
)

// Stage is one step of the load schedule: Rate requests per second for For.
// When RampTo > 0 the rate moves linearly from Rate to RampTo over For.
type Stage struct {
	Rate   float64
	For    time.Duration
	RampTo float64
}

// Class is one share of a traffic mix, told apart by its extra headers, so
// that shedding and degradation can be judged per class.
type Class struct {
	Name    string
	Share   float64
	Headers map[string]string
	// FreshConnections sends this class's requests as new clients do: each
	// one dials its own connection, goes with Connection: close, and the
	// connection is closed after the answer. Connect time, time to first
	// byte and connect failures are then measured per request.
	FreshConnections bool
}

// Marker says how to recognise a degraded answer: a response header whose
// value equals Equals, or a top-level or dotted JSON field (of the body, or of
// any SSE chunk) whose value printed with fmt's %v equals Equals. When both
// Header and JSON are set, either one marks the answer. Dotted paths may use
// numeric segments for arrays ("choices.0.finish_reason").
type Marker struct {
	Header string
	JSON   string
	Equals string
}

// Config describes a load run. New validates it and fills in defaults.
type Config struct {
	URL, Method string // Method defaults to POST
	Headers     map[string]string
	Body        []byte
	// Stream parses the answer as server-sent events (data: lines ending with data: [DONE]).
	Stream bool
	// Stages is the schedule; after the last stage its final rate holds until
	// ctx is done or MaxDuration passes. Empty means rate 0 until SetRate.
	Stages []Stage
	// Classes is the traffic mix; empty means one class named "default".
	Classes []Class
	// Timeout bounds each request, default 10s.
	Timeout time.Duration
	// Connections is both the maximum number of connections and of concurrent
	// requests (the worker pool), default 256. Fresh connections (below)
	// count against it while they are open.
	Connections int
	// FreshConnections makes every class send as new clients do (see
	// Class.FreshConnections).
	FreshConnections bool
	Degraded         *Marker
	// MaxDuration is a hard stop for Run; it is required.
	MaxDuration time.Duration
	// Seed makes the class choice repeatable.
	Seed int64
	// Client is optional. Without it, http:// URLs use a built-in HTTP/1.1
	// sender (one keep-alive connection per worker, about half net/http's CPU
	// per request) and https:// URLs a tuned Transport with
	// MaxConnsPerHost=Connections. A Client given here is used as is;
	// fresh-connection requests go through a clone of its *http.Transport
	// without keep-alive (another RoundTripper decides for itself).
	Client *http.Client
}

// Defaults applied by New.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultConnections = 256
	DefaultClass       = "default"
	shareTolerance     = 0.001
)

// validate checks cfg and fills defaults; each error names the field and what
// would be valid.
func (cfg *Config) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.URL == "" {
		bad("load: url: is empty; want an http:// or https:// URL")
	} else if u, err := url.Parse(cfg.URL); err != nil {
		bad("load: url: %v", err)
	} else if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("load: url: %q has no http:// or https:// scheme and host", cfg.URL)
	}
	if cfg.Method == "" {
		cfg.Method = http.MethodPost
	}
	for i, s := range cfg.Stages {
		last := i == len(cfg.Stages)-1
		switch {
		case !finiteNonNeg(s.Rate):
			bad("load: stages[%d].rate: %v; want a finite rate >= 0 req/s", i, s.Rate)
		case !finiteNonNeg(s.RampTo):
			bad("load: stages[%d].ramp_to: %v; want a finite rate >= 0 req/s (0 = no ramp)", i, s.RampTo)
		case s.For < 0 || (s.For == 0 && !last):
			bad("load: stages[%d].for: %v; want > 0 (only the last stage may be 0, meaning hold)", i, s.For)
		case s.For == 0 && s.RampTo > 0:
			bad("load: stages[%d].for: 0 with ramp_to %v; a ramp needs a duration > 0", i, s.RampTo)
		}
	}
	if len(cfg.Classes) == 0 {
		cfg.Classes = []Class{{Name: DefaultClass, Share: 1}}
	}
	sum, names := 0.0, map[string]bool{}
	for i, c := range cfg.Classes {
		if c.Name == "" {
			bad("load: classes[%d].name: is empty; want a unique name", i)
		} else if names[c.Name] {
			bad("load: classes[%d].name: %q is used twice; want unique names", i, c.Name)
		}
		names[c.Name] = true
		if !finiteNonNeg(c.Share) || c.Share > 1 {
			bad("load: classes[%d].share: %v; want a share in [0, 1]", i, c.Share)
		}
		sum += c.Share
	}
	if math.Abs(sum-1) > shareTolerance {
		bad("load: classes: shares sum to %.4f; want 1 (±%v)", sum, shareTolerance)
	}
	if cfg.Timeout < 0 {
		bad("load: timeout: %v; want > 0 (0 = default %v)", cfg.Timeout, DefaultTimeout)
	} else if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Connections < 0 {
		bad("load: connections: %d; want > 0 (0 = default %d)", cfg.Connections, DefaultConnections)
	} else if cfg.Connections == 0 {
		cfg.Connections = DefaultConnections
	}
	if m := cfg.Degraded; m != nil && m.Header == "" && m.JSON == "" {
		bad("load: degraded: set header or json (or both); both are empty")
	}
	if cfg.MaxDuration <= 0 {
		bad("load: max_duration: %v; want > 0 (a hard stop is required)", cfg.MaxDuration)
	}
	return errors.Join(errs...)
}

func finiteNonNeg(f float64) bool { return f >= 0 && !math.IsInf(f, 0) && !math.IsNaN(f) }
