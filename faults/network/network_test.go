package network

import (
	"errors"
	"runtime"
	"strings"
	"testing"
)

// TestAvailable: nil on Linux; elsewhere an error that names the OS, and
// every mechanism refuses with it (so a run stops at preflight).
func TestAvailable(t *testing.T) {
	err := Available()
	if runtime.GOOS == "linux" {
		if err != nil {
			t.Fatalf("Available() on linux = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, ErrNotAvailable) || !strings.Contains(err.Error(), runtime.GOOS) {
		t.Fatalf("Available() = %v, want ErrNotAvailable naming %s", err, runtime.GOOS)
	}
	if _, err := OpenPid(1); !errors.Is(err, ErrNotAvailable) {
		t.Errorf("OpenPid: %v, want ErrNotAvailable", err)
	}
	if _, err := OpenQueue(&NS{}, Shape{}, 0); !errors.Is(err, ErrNotAvailable) {
		t.Errorf("OpenQueue: %v, want ErrNotAvailable", err)
	}
	if _, ok, err := Find(1, 1, 0); ok || !errors.Is(err, ErrNotAvailable) {
		t.Errorf("Find: ok %v, %v; want not ok and ErrNotAvailable", ok, err)
	}
}

func TestScopeRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		scope Scope
		want  int
	}{
		{"both directions, any port", Scope{Egress: true, Ingress: true}, 2},
		{"a port: tcp and udp, either end", Scope{Egress: true, Port: 53}, 4},
		{"a destination port only", Scope{Egress: true, Port: 53, DstPortOnly: true, Proto: ProtoUDP}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scope.Rules(Verdict{Kind: "drop"}); len(got) != tc.want {
				t.Fatalf("%d rules, want %d: %+v", len(got), tc.want, got)
			}
		})
	}
}
