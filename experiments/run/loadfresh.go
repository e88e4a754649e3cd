package run

import (
	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/verify/load"
)

// withFreshConnections carries the experiment's fresh_connections (for
// the whole load, and per class by name) into a load config that
// loadConfig built, so new-client traffic is sent and measured apart.
func withFreshConnections(cfg load.Config, l experiments.Load) load.Config {
	cfg.FreshConnections = l.FreshConnections
	fresh := map[string]bool{}
	for _, c := range l.Classes {
		fresh[c.Name] = c.FreshConnections
	}
	if len(fresh) > 0 {
		classes := make([]load.Class, len(cfg.Classes))
		for i, c := range cfg.Classes {
			c.FreshConnections = fresh[c.Name]
			classes[i] = c
		}
		cfg.Classes = classes
	}
	return cfg
}
