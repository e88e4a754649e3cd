package run

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLoadConfigFreshConnections: fresh_connections from the YAML reaches the
// load config, for the whole load and for one class.
func TestLoadConfigFreshConnections(t *testing.T) {
	exp := parse(t, `version: chaos/v1
name: new-clients
load:
  url: http://127.0.0.1:1/
  rate: 10/s
  classes: [{name: pooled, share: 80%}, {name: new-clients, share: 20%, fresh_connections: true}]
faults:
  - {name: f, kind: process, target: {pid: 999999}, params: {signal: STOP}, for: 2s}
checks:
  - {name: new clients connect, kind: slo, during: f, connect_p99: 200ms, connect_error_rate: 1%}
`)
	cfg, err := loadConfig(exp, &world{}, 1)
	require.NoError(t, err)
	assert.False(t, cfg.FreshConnections)
	assert.False(t, cfg.Classes[0].FreshConnections)
	assert.True(t, cfg.Classes[1].FreshConnections)

	exp.Load.FreshConnections = true
	cfg, err = loadConfig(exp, &world{}, 1)
	require.NoError(t, err)
	assert.True(t, cfg.FreshConnections)
}
