package load

import (
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	ok := func() Config {
		return Config{URL: "http://127.0.0.1:1/x", Stages: []Stage{{Rate: 1, For: time.Second}}, MaxDuration: time.Second}
	}
	tests := []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" = valid
	}{
		{"valid", func(*Config) {}, ""},
		{"no url", func(c *Config) { c.URL = "" }, "url: is empty"},
		{"bad scheme", func(c *Config) { c.URL = "ftp://x/" }, "url:"},
		{"negative rate", func(c *Config) { c.Stages[0].Rate = -1 }, "stages[0].rate"},
		{"zero for mid stage", func(c *Config) { c.Stages = []Stage{{Rate: 1}, {Rate: 2, For: time.Second}} }, "stages[0].for"},
		{"last stage holds", func(c *Config) { c.Stages = []Stage{{Rate: 1, For: time.Second}, {Rate: 2}} }, ""},
		{"ramp needs for", func(c *Config) { c.Stages = []Stage{{Rate: 1, RampTo: 5}} }, "ramp needs a duration"},
		{"shares", func(c *Config) { c.Classes = []Class{{Name: "a", Share: 0.5}, {Name: "b", Share: 0.4}} }, "shares sum to 0.9000"},
		{"shares within tolerance", func(c *Config) { c.Classes = []Class{{Name: "a", Share: 0.3333}, {Name: "b", Share: 0.6669}} }, ""},
		{"duplicate class", func(c *Config) { c.Classes = []Class{{Name: "a", Share: 0.5}, {Name: "a", Share: 0.5}} }, "used twice"},
		{"no max duration", func(c *Config) { c.MaxDuration = 0 }, "max_duration"},
		{"negative timeout", func(c *Config) { c.Timeout = -1 }, "timeout"},
		{"negative connections", func(c *Config) { c.Connections = -3 }, "connections"},
		{"empty marker", func(c *Config) { c.Degraded = &Marker{Equals: "x"} }, "degraded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.edit(&c)
			_, err := New(c)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("New: unexpected error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("New: error %v, want it to mention %q", err, tt.want)
			}
		})
	}
	g, err := New(ok())
	if err != nil {
		t.Fatal(err)
	}
	if g.cfg.Method != "POST" || g.cfg.Timeout != DefaultTimeout || g.cfg.Connections != DefaultConnections {
		t.Errorf("defaults not applied: %+v", g.cfg)
	}
	if got := g.Timeline().Classes(); len(got) != 1 || got[0] != DefaultClass {
		t.Errorf("classes = %v, want [default]", got)
	}
}
