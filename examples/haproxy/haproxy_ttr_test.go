//go:build haproxy_ttr

package haproxy

// The crossing test of "time-to-recover agrees with the gateway's log within
// 0.25 s": chaos's recover check measures time-to-recover from the load it
// sends; HAProxy logs when its health checks put the primary back in service
// ("Server models/primary is UP"). Both start from the rollback.
//
// Behind the build tag haproxy_ttr while the recover check counts whole
// seconds (verify.RecoverStep): enable with
//   go test -tags haproxy_ttr -run TestHAProxyTimeToRecoverMatchesLog ./examples/haproxy

import (
	"math"
	"regexp"
	"testing"
	"time"
)

// ttrTolerance is how far chaos's time-to-recover may be from HAProxy's.
const ttrTolerance = 250 * time.Millisecond

// TestHAProxyTimeToRecoverMatchesLog runs each experiment against the
// working gateway and compares the recover check's time_to_recover_s with
// the time from rollback to HAProxy's first "is UP" after it.
func TestHAProxyTimeToRecoverMatchesLog(t *testing.T) {
	needHAProxy(t)
	s := startStack(t, "haproxy.cfg")
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			code, r := s.runExperiment(c.file)
			if code != 0 {
				t.Fatalf("%s: exit %d, want 0\n%s", c.file, code, r)
			}
			var ttr *float64
			for _, ch := range r.Checks {
				if ch.Kind == "recover" {
					ttr = ch.TimeToRecover
				}
			}
			if ttr == nil {
				t.Fatalf("%s: no recover check with time_to_recover_s\n%s", c.file, r)
			}
			rollback := r.Started.Add(time.Duration(r.Phases.RollbackS * float64(time.Second)))
			ups, downs := s.serverChanges()
			var up time.Time
			for _, u := range ups {
				if u.After(rollback) {
					up = u
					break
				}
			}
			if up.IsZero() {
				t.Fatalf("%s: HAProxy logged no \"Server models/primary is UP\" after the rollback at %s (UP at %v, DOWN at %v)",
					c.file, rollback.Format(time.RFC3339Nano), ups, downs)
			}
			logged := up.Sub(rollback)
			chaosTTR := time.Duration(*ttr * float64(time.Second))
			diff := time.Duration(math.Abs(float64(chaosTTR - logged)))
			t.Logf("%s: rollback %s, HAProxy UP %s (+%s), chaos time_to_recover_s %.3f: differ by %s",
				c.file, rollback.Format("15:04:05.000000"), up.Format("15:04:05.000000"), logged, *ttr, diff)
			if diff > ttrTolerance {
				t.Errorf("%s: chaos measured time-to-recover %s, HAProxy put the primary back %s after rollback: %s apart, want ≤ %s",
					c.file, chaosTTR, logged, diff, ttrTolerance)
			}
		})
	}
}

// stateChange matches HAProxy's log line (RFC 5424) of the primary going
// down or up, and captures its timestamp.
var stateChange = regexp.MustCompile(`^<\d+>1 (\S+) .*Server models/primary is (UP|DOWN)`)

// serverChanges returns the primary's state changes HAProxy logged, with
// HAProxy's own timestamps.
func (s *stack) serverChanges() (ups, downs []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.stdout {
		m := stateChange.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			s.t.Errorf("HAProxy log line with an unreadable time %q: %v", m[1], err)
			continue
		}
		if m[2] == "UP" {
			ups = append(ups, at)
		} else {
			downs = append(downs, at)
		}
	}
	return ups, downs
}
