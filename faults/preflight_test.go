package faults

import (
	"context"
	"errors"
	"testing"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/units"
)

// unavailable is a kind whose mechanism this OS lacks; its own preflight
// must never run.
type unavailable struct{ preflighted bool }

func (u *unavailable) Validate() []units.Problem         { return nil }
func (u *unavailable) Inject(context.Context, Env) error { return nil }
func (u *unavailable) Rollback(context.Context) error    { return nil }
func (u *unavailable) Available() error                  { return errNotHere }
func (u *unavailable) Preflight(context.Context, []targets.Target) error {
	u.preflighted = true
	return nil
}

var errNotHere = errors.New("needs Linux; this is plan9")

func TestPreflightAsksAvailableFirst(t *testing.T) {
	u := &unavailable{}
	err := Preflight(context.Background(), "net-latency", u, nil)
	if !errors.Is(err, errNotHere) || err.Error() != "net-latency: needs Linux; this is plan9" {
		t.Fatalf("Preflight = %v, want the kind and why it is not available", err)
	}
	if u.preflighted {
		t.Fatal("the kind's own preflight ran on an OS without its mechanism")
	}
}
