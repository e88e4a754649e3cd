// Package units holds the scalar types an experiment is written in — durations,
// rates and percentages — so that faults, checks and the experiment decoder parse
// them the same way and report the same "valid:" hint when they are wrong.
package units

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as Go duration text ("150ms", "2s", "1m30s").
// Negative durations are rejected by UnmarshalText; zero is allowed.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String prints the duration as Go does.
func (d Duration) String() string { return time.Duration(d).String() }

// MaxDuration is the longest duration an experiment may write: about 11
// years, far beyond any experiment, yet short enough that the engine's sums
// (baseline + at + for + recovery, a load's stages) cannot overflow int64
// nanoseconds (2562047h, about 292 years) unless more than 25 are added.
const MaxDuration = Duration(100_000 * time.Hour)

// UnmarshalText parses Go duration text. A duration past MaxDuration is
// refused, and one past what int64 nanoseconds hold says it overflows rather
// than that it is not a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		switch {
		case durationSyntax.MatchString(s) && strings.HasPrefix(s, "-"):
			return fmt.Errorf("%q is negative (valid: a duration of 0 or more, e.g. 250ms)", s)
		case durationSyntax.MatchString(s):
			return fmt.Errorf("%q overflows: the longest duration is %s (about 11 years)", s, longest)
		}
		return fmt.Errorf("%q is not a duration (valid: a number with a unit, e.g. 250ms, 2s, 1m30s)", s)
	}
	if v < 0 {
		return fmt.Errorf("%q is negative (valid: a duration of 0 or more, e.g. 250ms)", s)
	}
	if Duration(v) > MaxDuration {
		return fmt.Errorf("%q is too long: the longest duration is %s (about 11 years)", s, longest)
	}
	*d = Duration(v)
	return nil
}

// longest prints MaxDuration as it would be written.
const longest = "100000h"

// durationSyntax is what time.ParseDuration accepts; text that matches it
// but does not parse is too big for int64 nanoseconds.
var durationSyntax = regexp.MustCompile(`^[-+]?(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+$`)

// Add returns the sum of ds, or MaxDuration and false when it is longer
// than MaxDuration, so that a sum of durations never wraps around.
func Add(ds ...Duration) (Duration, bool) {
	var sum Duration
	for _, d := range ds {
		if d < 0 || d > MaxDuration || sum+d > MaxDuration {
			return MaxDuration, false
		}
		sum += d
	}
	return sum, true
}

// MarshalText prints the duration as Go duration text.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Rate is a number of events per second, written "50/s", "3000/m" or "2/ms".
type Rate float64

// PerSecond returns the rate in events per second.
func (r Rate) PerSecond() float64 { return float64(r) }

// String prints the rate as "N/s".
func (r Rate) String() string { return strconv.FormatFloat(float64(r), 'f', -1, 64) + "/s" }

// UnmarshalText parses "N/s", "N/m", "N/ms" or "N/h".
func (r *Rate) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	num, unit, ok := strings.Cut(s, "/")
	if !ok {
		return fmt.Errorf("%q is not a rate (valid: a count per unit, e.g. 50/s, 3000/m)", s)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || n != n {
		return fmt.Errorf("%q is not a rate (valid: a count of 0 or more per unit, e.g. 50/s, 3000/m)", s)
	}
	var per float64
	switch strings.TrimSpace(unit) {
	case "ms":
		per = 0.001
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return fmt.Errorf("%q has unknown unit %q (valid: ms, s, m, h, e.g. 50/s)", s, unit)
	}
	*r = Rate(n / per)
	return nil
}

// MarshalText prints the rate as "N/s".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// Percent is a share written "5%" (or "0.5%"); its value is the fraction (0.05).
type Percent float64

// Fraction returns the share as a number from 0 to 1.
func (p Percent) Fraction() float64 { return float64(p) }

// String prints the share as "N%".
func (p Percent) String() string {
	return strconv.FormatFloat(float64(p)*100, 'f', -1, 64) + "%"
}

// UnmarshalText parses "N%" with N from 0 to 100.
func (p *Percent) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return fmt.Errorf("%q is not a percentage (valid: 0%% to 100%%, e.g. 5%%)", s)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n != n {
		return fmt.Errorf("%q is not a percentage (valid: 0%% to 100%%, e.g. 5%%)", s)
	}
	if n < 0 || n > 100 {
		return fmt.Errorf("%q is out of range (valid: 0%% to 100%%)", s)
	}
	*p = Percent(n / 100)
	return nil
}

// MarshalText prints the share as "N%".
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Problem is one thing wrong with a value, found after decoding: Field is the
// path below the value being validated ("delay", "metric.url"), empty for the
// value itself. The experiment decoder turns it into file:line:col.
type Problem struct {
	Field string
	Msg   string
}

// Problemf builds a Problem.
func Problemf(field, format string, args ...any) Problem {
	return Problem{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Validator is implemented by decoded values that check their own ranges and
// combinations after decoding.
type Validator interface {
	Validate() []Problem
}
