package gateway

import (
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// variants are the switches that remove one resilience behaviour each: the
// one place their names are written. The flags (--no-breaker …), --variant,
// GATEWAY_VARIANT, the launcher (examples/stack) and, through the stack
// chaos plugs in, the experiments' validation and JSON Schema all read it.
var variants = []struct {
	name, usage string
	on          func(c *Config) *bool
}{
	{"no-breaker", "the breaker never opens", func(c *Config) *bool { return &c.NoBreaker }},
	{"no-fallback", "never use the fallback", func(c *Config) *bool { return &c.NoFallback }},
	{"no-shedding", "admit everything", func(c *Config) *bool { return &c.NoShedding }},
	{"no-ejection", "never eject a replica", func(c *Config) *bool { return &c.NoEjection }},
	{"no-retry-budget", "retries are not budgeted", func(c *Config) *bool { return &c.NoRetryBudget }},
	{"no-conn-timeout", "with --max-conns, idle connections keep their slot and requests wait for one forever",
		func(c *Config) *bool { return &c.Conns.NoTimeout }},
}

// Variants are the names of the switches that remove one resilience
// behaviour each, in a stable order; the launcher and GATEWAY_VARIANT take
// them without dashes.
func Variants() []string {
	names := make([]string, len(variants))
	for i, v := range variants {
		names[i] = v.name
	}
	return names
}

// Config is the whole gateway configuration; DefaultConfig holds the
// defaults the flags show.
type Config struct {
	Primary  []string // primary replicas, host:port
	Fallback string   // fallback upstream, host:port; "" = none

	ConnectTimeout   time.Duration // dialing an upstream
	FirstByteTimeout time.Duration // response headers must arrive by then
	RequestTimeout   time.Duration // the whole request, all attempts and the stream
	StreamIdle       time.Duration // a stream silent this long is cut (its client sees no [DONE])

	Retries        int           // retries after the first attempt
	BackoffBase    time.Duration // full-jitter exponential backoff base
	BackoffMax     time.Duration // backoff cap, also caps Retry-After
	RetryBudget    float64       // retries as a share of requests over 10 s
	RetryMinPerSec float64       // retries always allowed per second

	BreakerWindow      time.Duration
	BreakerThreshold   float64 // failure share, 0..1
	BreakerMinRequests int
	BreakerOpenFor     time.Duration
	BreakerProbes      int

	EjectAfter int // consecutive failures that eject a primary replica
	EjectFor   time.Duration

	Rate       float64 // admitted requests per second
	Burst      int     // token bucket size
	LowReserve float64 // share of Burst low priority may not use

	Conns ConnLimits // client connection slots and their timeouts (conncap.go)

	NoBreaker, NoFallback, NoShedding, NoEjection, NoRetryBudget bool
}

// DefaultConfig is the configuration with every behaviour on, tuned so the
// demo experiments hold on a loaded 2-core machine.
func DefaultConfig() Config {
	return Config{
		ConnectTimeout: 200 * time.Millisecond, FirstByteTimeout: 800 * time.Millisecond, RequestTimeout: 30 * time.Second,
		StreamIdle: 5 * time.Second,
		Retries:    2, BackoffBase: 20 * time.Millisecond, BackoffMax: 500 * time.Millisecond, RetryBudget: 0.2, RetryMinPerSec: 3,
		BreakerWindow: 5 * time.Second, BreakerThreshold: 0.2, BreakerMinRequests: 10, BreakerOpenFor: 3 * time.Second, BreakerProbes: 3,
		EjectAfter: 3, EjectFor: 10 * time.Second,
		Rate: 60, Burst: 30, LowReserve: 0.5,
		Conns: defaultConnLimits(),
	}
}

// SetVariant turns on the switch named v ("no-breaker", …).
func (c *Config) SetVariant(v string) error {
	name := strings.TrimPrefix(strings.TrimSpace(v), "--")
	for _, sw := range variants {
		if sw.name == name {
			*sw.on(c) = true
			return nil
		}
	}
	return fmt.Errorf("unknown variant %q (valid: %s)", v, strings.Join(Variants(), ", "))
}

// Validate names the first setting that is out of range.
func (c Config) Validate() error {
	switch {
	case len(c.Primary) == 0:
		return fmt.Errorf("primary: at least one host:port is needed")
	case slices.Contains(c.Primary, ""):
		return fmt.Errorf("primary %q: empty address", strings.Join(c.Primary, ","))
	case c.ConnectTimeout <= 0 || c.FirstByteTimeout <= 0 || c.RequestTimeout <= 0 || c.StreamIdle <= 0:
		return fmt.Errorf("connect-timeout, first-byte-timeout, request-timeout and stream-idle-timeout must be positive")
	case c.Retries < 0:
		return fmt.Errorf("retries %d: must be 0 or more", c.Retries)
	case c.BreakerThreshold <= 0 || c.BreakerThreshold > 1:
		return fmt.Errorf("breaker-threshold %v: must be in (0%%, 100%%]", c.BreakerThreshold)
	case c.BreakerWindow <= 0 || c.BreakerOpenFor <= 0 || c.BreakerProbes < 1:
		return fmt.Errorf("breaker-window and breaker-open-for must be positive, breaker-probes at least 1")
	case c.Rate <= 0 || c.Burst < 1:
		return fmt.Errorf("rate must be positive and burst at least 1")
	case c.LowReserve < 0 || c.LowReserve > 1 || c.RetryBudget < 0:
		return fmt.Errorf("low-reserve must be in [0%%, 100%%], retry-budget 0%% or more")
	}
	return c.Conns.validate()
}

// percent is a flag.Value for a share written "20%" or "0.2".
type percent struct{ p *float64 }

func (v percent) String() string {
	if v.p == nil {
		return ""
	}
	return strconv.FormatFloat(*v.p*100, 'f', -1, 64) + "%"
}

func (v percent) Set(s string) error {
	s = strings.TrimSpace(s)
	div := 1.0
	if t, ok := strings.CutSuffix(s, "%"); ok {
		s, div = t, 100
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%q is not a share like 20%% or 0.2", s)
	}
	*v.p = f / div
	return nil
}

// list is a flag.Value for a comma-separated list.
type list struct{ p *[]string }

func (v list) String() string {
	if v.p == nil {
		return ""
	}
	return strings.Join(*v.p, ",")
}

func (v list) Set(s string) error {
	*v.p = nil
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*v.p = append(*v.p, a)
		}
	}
	return nil
}

// flags binds c to fs; variant collects --variant (GATEWAY_VARIANT).
func (c *Config) flags(fs *flag.FlagSet, variant *[]string) {
	fs.Var(list{&c.Primary}, "primary", "primary replicas, host:port,host:port")
	fs.StringVar(&c.Fallback, "fallback", c.Fallback, "fallback upstream host:port")
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", c.ConnectTimeout, "upstream connect timeout")
	fs.DurationVar(&c.FirstByteTimeout, "first-byte-timeout", c.FirstByteTimeout, "upstream response headers deadline")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "whole request deadline")
	fs.DurationVar(&c.StreamIdle, "stream-idle-timeout", c.StreamIdle, "cut a stream that sends nothing for this long")
	fs.IntVar(&c.Retries, "retries", c.Retries, "retries after the first attempt")
	fs.DurationVar(&c.BackoffBase, "backoff-base", c.BackoffBase, "retry backoff base (full jitter)")
	fs.DurationVar(&c.BackoffMax, "backoff-max", c.BackoffMax, "retry backoff cap, also caps Retry-After")
	fs.Var(percent{&c.RetryBudget}, "retry-budget", "retries as a share of requests over 10s")
	fs.Float64Var(&c.RetryMinPerSec, "retry-min-per-sec", c.RetryMinPerSec, "retries allowed per second whatever the budget")
	fs.DurationVar(&c.BreakerWindow, "breaker-window", c.BreakerWindow, "breaker sliding window")
	fs.Var(percent{&c.BreakerThreshold}, "breaker-threshold", "failure share that opens the breaker")
	fs.IntVar(&c.BreakerMinRequests, "breaker-min-requests", c.BreakerMinRequests, "results in the window before the breaker may open")
	fs.DurationVar(&c.BreakerOpenFor, "breaker-open-for", c.BreakerOpenFor, "time open before half-open")
	fs.IntVar(&c.BreakerProbes, "breaker-probes", c.BreakerProbes, "successful half-open probes that close the breaker")
	fs.IntVar(&c.EjectAfter, "eject-after", c.EjectAfter, "consecutive failures that eject a primary replica")
	fs.DurationVar(&c.EjectFor, "eject-for", c.EjectFor, "how long an ejected replica is left out")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "token bucket rate, requests per second")
	fs.IntVar(&c.Burst, "burst", c.Burst, "token bucket size")
	fs.Var(percent{&c.LowReserve}, "low-reserve", "share of burst kept for high priority")
	for _, sw := range variants {
		fs.BoolVar(sw.on(c), sw.name, false, "variant: "+sw.usage)
	}
	c.Conns.flags(fs)
	fs.Var(list{variant}, "variant", "comma list of variants, e.g. no-breaker,no-fallback")
}
