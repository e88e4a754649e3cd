//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/agent/agenttest"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

const agentToken = "agent-test-token-0123456789"

var servingRE = regexp.MustCompile(`agent: serving on (\S+)`)

// startAgentProc runs `chaos agent` on loopback with its state in dir and
// waits until it serves; it returns the process, its stderr and its URL.
func startAgentProc(t *testing.T, dir string) (*exec.Cmd, *syncBuffer, string) {
	t.Helper()
	tok := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(tok, []byte(agentToken+"\n"), 0o600))
	cmd, _, errb := chaosCmd(t, "agent", "--listen", "127.0.0.1:0", "--state-dir", dir, "--node", "test-node", "--token-file", tok)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("agent stderr:\n%s", errb.String())
		}
	})
	var url string
	clitest.WaitFor(t, "the agent to serve", func() bool {
		m := servingRE.FindStringSubmatch(errb.String())
		if m != nil {
			url = "http://" + m[1]
		}
		return m != nil || cmd.ProcessState != nil
	})
	require.NotEmpty(t, url, "the agent did not serve:\n%s", errb.String())
	return cmd, errb, url
}

func agentPost(t *testing.T, url string, req agent.Request) agent.Applied {
	t.Helper()
	b, err := json.Marshal(req)
	require.NoError(t, err)
	hr, err := http.NewRequest(http.MethodPost, url+agent.PathFaults, bytes.NewReader(b))
	require.NoError(t, err)
	hr.Header.Set(agent.TokenHeader, agentToken)
	resp, err := http.DefaultClient.Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	var got agent.Applied
	var e agent.Error
	if resp.StatusCode != http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		t.Fatalf("apply %s: %d %s", req.Kind, resp.StatusCode, e.Error)
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&got))
	return got
}

func podFault(id, kind, params string, p *agenttest.Pod) agent.Request {
	return agent.Request{ID: id, Run: "run-1", Fault: "f", Kind: kind, Params: json.RawMessage(params),
		Pod:         agent.Pod{Namespace: "ns", Name: "web-1", UID: p.UID, Container: "app", ContainerID: "containerd://" + p.ContainerID},
		LeaseMillis: time.Minute.Milliseconds()}
}

// TestAgentKilledThenRestartedUndoesAtStart: kill -9 of the agent mid
// fault leaves its nftables table (the shaper's queue, fail-open, goes
// with the process); the agent started again undoes it before it serves.
func TestAgentKilledThenRestartedUndoesAtStart(t *testing.T) {
	p := agenttest.New(t)
	dir := t.TempDir()
	cmd, _, url := startAgentProc(t, dir)
	got := agentPost(t, url, podFault("f1", "net-latency", `{"delay":"30ms"}`, p))
	assert.Contains(t, got.Mechanism, "NFQUEUE")
	tables, _, queues, err := nettest.Left(p.NS)
	require.NoError(t, err)
	require.Len(t, tables, 1)
	require.Len(t, queues, 1)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	tables, _, queues, err = nettest.Left(p.NS)
	require.NoError(t, err)
	require.Len(t, tables, 1, "kill -9 leaves the table")
	assert.Empty(t, queues, "the queue went with the process (its rule fails open)")

	start := time.Now()
	_, errb, _ := startAgentProc(t, dir)
	t.Logf("the restarted agent served %s after it started, its start undo done", time.Since(start))
	tables, qdiscs, queues, err := nettest.Left(p.NS)
	require.NoError(t, err)
	assert.Empty(t, append(append(tables, qdiscs...), queues...), "undone before serving")
	assert.Contains(t, errb.String(), "undid 1 change(s)")
	journals, _ := filepath.Glob(filepath.Join(agent.JournalDir(dir), "*.jsonl"))
	assert.Len(t, journals, 1, "the killed agent's journal is gone, the new one's is there")
}

// TestAgentSIGTERMUndoesEverything: a pod stopped (DaemonSet rolled,
// node drained) undoes what it holds and exits 0.
func TestAgentSIGTERMUndoesEverything(t *testing.T) {
	p := agenttest.New(t)
	dir := t.TempDir()
	cmd, errb, url := startAgentProc(t, dir)
	agentPost(t, url, podFault("f1", "partition", `{"mode":"reject"}`, p))
	agentPost(t, url, podFault("f2", "pause", `{}`, p))
	assert.Contains(t, []string{"FROZEN", "1"}, p.Frozen())
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	assert.Equal(t, 0, clitest.ExitCode(err), errb.String())
	assert.Contains(t, []string{"THAWED", "0"}, p.Frozen())
	tables, _, _, lerr := nettest.Left(p.NS)
	require.NoError(t, lerr)
	assert.Empty(t, tables)
	assert.Contains(t, errb.String(), "nothing left")
	journals, _ := filepath.Glob(filepath.Join(agent.JournalDir(dir), "*"))
	assert.Empty(t, journals)
}

func TestAgentRefusesWhatCannotWork(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(tok, []byte(agentToken), 0o600))
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no node":          {[]string{"--token-file", tok}, "no node name"},
		"no token":         {[]string{"--node", "n"}, "no token"},
		"the node's ports": {[]string{"--node", "n", "--token-file", tok, "--listen", ":0"}, "runs in the node's network namespace"},
	} {
		if own, _ := network.PidInode(os.Getpid()); name == "the node's ports" && own >= 0xF0000000 {
			continue // the test does not run in the host's network namespace
		}
		cmd, out, errb := chaosCmd(t, append([]string{"agent", "--state-dir", filepath.Join(dir, "state")}, tc.args...)...)
		cmd.Env = append(cmd.Env, "NODE_NAME=", agent.TokenEnv+"=")
		code, _, stderr := clitest.Run(t, cmd, out, errb)
		assert.Equal(t, 2, code, name)
		assert.True(t, strings.Contains(stderr, tc.want), "%s: %s", name, stderr)
	}
}
