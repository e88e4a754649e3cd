//go:build linux

package agent

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenIsNeededButForHealthz(t *testing.T) {
	ta := startAgent(t, t.TempDir(), (&pods{}).find)
	for name, tok := range map[string]string{"none": "", "wrong": testToken + "x", "prefix": testToken[:len(testToken)-1]} {
		status, e := callWith(t, ta.url, tok, http.MethodGet, PathFaults, nil, nil)
		assert.Equal(t, http.StatusUnauthorized, status, name)
		assert.Contains(t, e.Error, TokenHeader, name)
	}
	resp, err := http.Get(ta.url + PathHealthz)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	var held []Applied
	status, _ := ta.call(t, http.MethodGet, PathFaults, nil, &held)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, held)
}

func TestInvalidRequestsSaySo(t *testing.T) {
	ps := &pods{}
	ps.set("uid-1", os.Getpid())
	ta := startAgent(t, t.TempDir(), ps.find)
	for name, req := range map[string]Request{
		"unknown kind":           request("a", "net-teleport", `{}`, "uid-1", time.Second),
		"a kind of no namespace": request("a", "pod-delete", `{}`, "uid-1", time.Second),
		"docker kind":            request("a", "kill", `{}`, "uid-1", time.Second),
		"unknown param":          request("a", "partition", `{"mode":"drop","speed":3}`, "uid-1", time.Second),
		"bad param":              request("a", "net-latency", `{"delay":"-1s"}`, "uid-1", time.Second),
		"param out of range":     request("a", "partition", `{"mode":"vanish"}`, "uid-1", time.Second),
		"allow_host":             request("a", "partition", `{"allow_host":true}`, "uid-1", time.Second),
		"no lease":               request("a", "partition", `{}`, "uid-1", 0),
		"lease too long":         request("a", "partition", `{}`, "uid-1", MaxLease+time.Second),
		"no id":                  request("", "partition", `{}`, "uid-1", time.Second),
		"id with a slash":        request("a/b", "partition", `{}`, "uid-1", time.Second),
		"no uid":                 request("a", "partition", `{}`, "", time.Second),
		"pod not on this node":   request("a", "partition", `{}`, "uid-elsewhere", time.Second),
	} {
		status, e := ta.call(t, http.MethodPost, PathFaults, req, nil)
		assert.Equal(t, http.StatusBadRequest, status, name)
		assert.True(t, e.Invalid, "%s: %s", name, e.Error)
	}
	status, e := ta.call(t, http.MethodPost, PathFaults, "not a request", nil)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.True(t, e.Invalid)
	_, e = ta.call(t, http.MethodPost, PathFaults, request("a", "net-teleport", `{}`, "uid-1", time.Second), nil)
	assert.Contains(t, e.Error, "valid: conn-limit, dns, freeze, net-bandwidth, net-corrupt, net-duplicate, net-latency, net-loss, partition, pause")
	_, e = ta.call(t, http.MethodPost, PathFaults, request("a", "partition", `{}`, "uid-elsewhere", time.Second), nil)
	assert.Contains(t, e.Error, "has no process on node test-node")

	status, _ = ta.call(t, http.MethodPut, PathFaults, nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, status)
	status, _ = ta.call(t, http.MethodPost, "/v2/faults", nil, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, e = ta.call(t, http.MethodPost, PathFaults+"/nothing/renew", RenewRequest{LeaseMillis: 1000}, nil)
	assert.Equal(t, http.StatusNotFound, status, "a fault not held cannot be renewed")
	assert.Contains(t, e.Error, "not held")
	var u Undone
	status, _ = ta.call(t, http.MethodDelete, PathFaults+"/nothing", nil, &u)
	assert.Equal(t, http.StatusOK, status, "a DELETE of what is not held is done")
	assert.Equal(t, Undone{ID: "nothing"}, u)
}

func TestStartRefusesWhatCannotWork(t *testing.T) {
	ctx := t.Context()
	for name, o := range map[string]Options{
		"no node":     {StateDir: t.TempDir(), Token: testToken},
		"no state":    {Node: "n", Token: testToken},
		"short token": {Node: "n", StateDir: t.TempDir(), Token: "short"},
	} {
		_, err := Start(ctx, o)
		assert.Error(t, err, name)
	}
}

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(file, []byte(testToken+"\n"), 0o600))
	tok, err := LoadToken(file)
	require.NoError(t, err)
	assert.Equal(t, testToken, tok)

	t.Setenv(TokenEnv, "from-the-environment-0123")
	tok, err = LoadToken("")
	require.NoError(t, err)
	assert.Equal(t, "from-the-environment-0123", tok)

	require.NoError(t, os.WriteFile(file, []byte("short"), 0o600))
	_, err = LoadToken(file)
	assert.ErrorContains(t, err, "fewer than 16")
	require.NoError(t, os.WriteFile(file, []byte("0123456789abcdef\n0123456789abcdef"), 0o600))
	_, err = LoadToken(file)
	assert.ErrorContains(t, err, "more than one line")
	t.Setenv(TokenEnv, "")
	_, err = LoadToken("")
	assert.ErrorContains(t, err, "no token")
	_, err = LoadToken(filepath.Join(dir, "missing"))
	assert.Error(t, err)
}
