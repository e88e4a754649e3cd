package verify

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCommandCheck(t *testing.T) {
	tests := []struct {
		name       string
		check      CommandCheck
		held       bool
		measured   string
		wantReason string
	}{
		{name: "true", check: CommandCheck{Run: []string{"true"}}, held: true},
		{
			name:       "false",
			check:      CommandCheck{Run: []string{"false"}},
			wantReason: "false exited 1, want 0; stderr \"\"",
		},
		{name: "expected exit", check: CommandCheck{Run: []string{"sh", "-c", "exit 3"}, ExpectExit: 3}, held: true},
		{
			name:       "wrong exit with stderr",
			check:      CommandCheck{Run: []string{"sh", "-c", "echo breaker stuck >&2; exit 2"}},
			wantReason: `sh -c echo breaker stuck >&2; exit 2 exited 2, want 0; stderr "breaker stuck"`,
		},
		{name: "stdout contains", check: CommandCheck{Run: []string{"sh", "-c", "echo state=closed"}, Contains: "closed"}, held: true},
		{
			name:       "stdout lacks",
			check:      CommandCheck{Run: []string{"sh", "-c", "echo state=open"}, Contains: "closed"},
			measured:   "exit 0 after",
			wantReason: `stdout lacks "closed": "state=open"`,
		},
		{
			name:       "times out",
			check:      CommandCheck{Run: []string{"sleep", "5"}, Timeout: *dur("100ms")},
			measured:   "timed out",
			wantReason: `sleep 5 did not finish within 100ms`,
		},
		{
			name:       "no such program",
			check:      CommandCheck{Run: []string{"/nonexistent/chaos-probe"}},
			measured:   "no exit status",
			wantReason: "/nonexistent/chaos-probe: fork/exec /nonexistent/chaos-probe: no such file or directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.check.Evaluate(context.Background(), Evidence{})
			assert.Equal(t, tt.held, r.Held, "reason: %s", r.Reason)
			assert.Contains(t, r.Measured, tt.measured)
			assert.Contains(t, r.Reason, tt.wantReason)
		})
	}
}

// TestCommandRunsOnceAtWindowEnd checks that Sample runs the program at the
// first sample at or after the window's end, once, and Evaluate reuses it.
func TestCommandRunsOnceAtWindowEnd(t *testing.T) {
	counter := t.TempDir() + "/runs"
	c := &CommandCheck{Run: []string{"sh", "-c", "echo x >> " + counter + "; wc -l < " + counter}, Contains: "1"}
	w := win("slow-primary", 5, 10)
	for s := 0.0; s <= 15; s += 0.25 {
		sampleAt(t, c, s, Window{Name: w.Name, From: w.From}) // To not yet known
	}
	assert.False(t, lazy(&c.st).ran, "no run before the window's end is known")
	for s := 0.0; s <= 15; s += 0.25 {
		sampleAt(t, c, s, w)
	}
	r := c.Evaluate(context.Background(), Evidence{Window: w})
	assert.True(t, r.Held, "ran once: %s", r.Reason)
	r = c.Evaluate(context.Background(), Evidence{Window: w})
	assert.True(t, r.Held, "second Evaluate reuses the run: %s", r.Reason)
}

func TestCommandValidate(t *testing.T) {
	tests := []struct {
		name   string
		check  CommandCheck
		fields []string
	}{
		{"ok", CommandCheck{Run: []string{"curl", "-fsS", "${gateway}/healthz"}}, nil},
		{"empty", CommandCheck{}, []string{"run"}},
		{"empty program", CommandCheck{Run: []string{""}}, []string{"run"}},
		{"bad exit", CommandCheck{Run: []string{"true"}, ExpectExit: 300}, []string{"expect_exit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.fields, fields(tt.check.Validate()))
		})
	}
}
