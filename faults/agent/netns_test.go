//go:build linux

package agent

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// nft lists the nftables tables of the network namespace at path with the
// nft command, from outside the agent.
func nft(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+path, "nft", "list", "tables").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// left is what chaos left in ns: tables, qdiscs and bound queues.
func left(t *testing.T, ns *network.NS) []string {
	t.Helper()
	tables, qdiscs, queues, err := nettest.Left(ns)
	require.NoError(t, err)
	return append(append(tables, qdiscs...), queues...)
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out after %s waiting for %s", within, what)
		time.Sleep(time.Millisecond)
	}
	return time.Now()
}

func TestLeaseRunsOutWithoutRenewals(t *testing.T) {
	for _, tc := range []struct{ kind, params, mechanism string }{
		{"partition", `{"mode":"reject","peers":["PEER"]}`, "nftables reject"},
		{"net-latency", `{"delay":"50ms","peers":["PEER"]}`, "NFQUEUE"},
	} {
		t.Run(tc.kind, func(t *testing.T) { leaseRunsOut(t, tc.kind, tc.params, tc.mechanism) })
	}
}

// leaseRunsOut applies a fault renewed four times, then not: the agent
// undoes it as its lease runs out, as seen from outside the agent.
func leaseRunsOut(t *testing.T, kind, params, mechanism string) {
	p := nettest.New(t)
	ps := &pods{}
	ps.set("a", p.PidA)
	ta := startAgent(t, t.TempDir(), ps.find)
	named := "/run/netns/" + p.A

	var got Applied
	status, e := ta.call(t, http.MethodPost, PathFaults, request("f1", kind, strings.ReplaceAll(params, "PEER", p.AddrB), "a", 600*time.Millisecond), &got)
	require.Equal(t, http.StatusOK, status, e.Error)
	assert.Equal(t, "f1", got.ID)
	assert.Equal(t, "test-node", got.Node)
	assert.Contains(t, got.Mechanism, mechanism)
	assert.Contains(t, nft(t, named), "table ip chaos-agent-")
	held := len(left(t, p.NSA))
	require.NotZero(t, held)
	assert.NotContains(t, nft(t, hostNS()), "chaos-agent-", "nothing in the host's namespace")

	// renewed every 200 ms, it stays past its first lease
	var expires time.Time
	for range 4 {
		time.Sleep(200 * time.Millisecond)
		status, e := ta.call(t, http.MethodPost, PathFaults+"/f1/renew", RenewRequest{LeaseMillis: 600}, &got)
		require.Equal(t, http.StatusOK, status, e.Error)
		var err error
		expires, err = time.Parse(time.RFC3339Nano, got.Expires)
		require.NoError(t, err)
	}
	require.Len(t, left(t, p.NSA), held, "renewed, it stays")

	gone := waitFor(t, "the fault gone after the lease", 5*time.Second, func() bool { return len(left(t, p.NSA)) == 0 })
	t.Logf("%s: the lease ran out at %s; the fault was gone %s later (seen from outside the agent)", kind, expires.Format(time.StampMicro), gone.Sub(expires))
	assert.False(t, gone.Before(expires), "undone before the lease ran out")
	assert.Less(t, gone.Sub(expires), time.Second)
	assert.NotContains(t, nft(t, named), "chaos-agent-")

	status, _ = ta.call(t, http.MethodPost, PathFaults+"/f1/renew", RenewRequest{LeaseMillis: 600}, nil)
	assert.Equal(t, http.StatusNotFound, status, "a lapsed fault cannot be renewed")
	assert.Empty(t, ta.list())
	waitFor(t, "the undo journaled", time.Second, func() bool { return len(ta.j.Pending()) == 0 })
	assert.Contains(t, ta.log.String(), "its lease ran out at")
}

func TestForBoundsTheRenewals(t *testing.T) {
	p := nettest.New(t)
	ps := &pods{}
	ps.set("a", p.PidA)
	ta := startAgent(t, t.TempDir(), ps.find)
	req := request("f1", "partition", `{}`, "a", 300*time.Millisecond)
	req.ForMillis = 200
	start := time.Now()
	var got Applied
	status, e := ta.call(t, http.MethodPost, PathFaults, req, &got)
	require.Equal(t, http.StatusOK, status, e.Error)
	status, _ = ta.call(t, http.MethodPost, PathFaults+"/f1/renew", RenewRequest{LeaseMillis: 60_000}, &got)
	require.Equal(t, http.StatusOK, status)
	expires, err := time.Parse(time.RFC3339Nano, got.Expires)
	require.NoError(t, err)
	assert.WithinDuration(t, start.Add(500*time.Millisecond), expires, 300*time.Millisecond, "for + lease at most")
	waitFor(t, "the table gone at for + lease", 5*time.Second, func() bool { return len(left(t, p.NSA)) == 0 })
}

func TestRestartedAgentUndoesAtStart(t *testing.T) {
	p := nettest.New(t)
	ps := &pods{}
	ps.set("a", p.PidA)
	ps.set("b", p.PidB)
	dir := t.TempDir()
	ta := startAgent(t, dir, ps.find)
	for _, uid := range []string{"a", "b"} {
		status, e := ta.call(t, http.MethodPost, PathFaults, request("f-"+uid, "partition", `{}`, uid, time.Minute), nil)
		require.Equal(t, http.StatusOK, status, e.Error)
	}
	ta.crash()
	require.Len(t, left(t, p.NSA), 1, "a killed agent leaves its changes")
	require.Len(t, left(t, p.NSB), 1)

	start := time.Now()
	tb := startAgent(t, dir, ps.find)
	t.Logf("the new agent undid what the old one left in %s before serving", time.Since(start))
	assert.Empty(t, left(t, p.NSA), "undone before the agent serves")
	assert.Empty(t, left(t, p.NSB))
	assert.NotContains(t, nft(t, "/run/netns/"+p.A), "chaos-agent-")
	assert.Contains(t, tb.log.String(), "undid 2 change(s)")
	journals, err := filepath.Glob(filepath.Join(JournalDir(dir), "*.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, []string{tb.Journal()}, journals, "the old journal is gone")
	var held []Applied
	tb.call(t, http.MethodGet, PathFaults, nil, &held)
	assert.Empty(t, held)
}

// TestPodGoneIsDropped: the process of a network namespace of its own
// (a pod's sandbox) exits while a net-latency is on; the agent, which
// still holds the namespace through its own handles and the shaper's
// queue, lets go of everything there.
func TestPodGoneIsDropped(t *testing.T) {
	nettest.Require(t)
	cmd := exec.Command("unshare", "--net", "sleep", "600")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid
	waitFor(t, "unshare to enter its namespace", 10*time.Second, func() bool {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		return strings.TrimSpace(string(b)) == "sleep"
	})
	ns, err := network.OpenPid(pid) // the test's look into it once the process is gone
	require.NoError(t, err)
	defer ns.Close()
	nsPath := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), ns.Fd())

	ps := &pods{}
	ps.set("a", pid)
	ta := startAgent(t, t.TempDir(), ps.find)
	var got Applied
	status, e := ta.call(t, http.MethodPost, PathFaults, request("f1", "net-latency", `{"delay":"50ms"}`, "a", time.Minute), &got)
	require.Equal(t, http.StatusOK, status, e.Error)
	assert.Contains(t, got.Mechanism, "NFQUEUE")
	tables, _, queues, err := nettest.Left(ns)
	require.NoError(t, err)
	require.Len(t, tables, 1)
	require.Len(t, queues, 1, "the shaper's queue is bound in the pod's namespace")
	assert.NotContains(t, nft(t, hostNS()), "chaos-agent-", "nothing in the host's namespace")
	handles := nsHandles(t, ns.Inode)

	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	gone := time.Now()
	waitFor(t, "the agent to let go of the pod", 10*time.Second, func() bool {
		var held []Applied
		ta.call(t, http.MethodGet, PathFaults, nil, &held)
		return len(held) == 0
	})
	t.Logf("the agent let go of the pod %s after its process was gone (watch every %s)", time.Since(gone), ta.o.Watch)
	waitFor(t, "the undo journaled", 5*time.Second, func() bool { return len(ta.j.Pending()) == 0 })
	assert.Empty(t, left(t, ns), "no table, qdisc or queue left")
	assert.NotContains(t, nft(t, nsPath), "chaos-agent-")
	assert.Less(t, nsHandles(t, ns.Inode), handles, "the agent closed its handles to the namespace")
	assert.Equal(t, 1, nsHandles(t, ns.Inode), "only the test's own handle is left")
	assert.Contains(t, ta.log.String(), "its pod is gone from the node")
}

// nsHandles counts this process's descriptors open on network namespace ino.
func nsHandles(t *testing.T, ino uint64) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if l, err := os.Readlink("/proc/self/fd/" + fd.Name()); err == nil && l == "net:["+strconv.FormatUint(ino, 10)+"]" {
			n++
		}
	}
	return n
}

func TestDeleteUndoesAndRetriesAreIdempotent(t *testing.T) {
	p := nettest.New(t)
	ps := &pods{}
	ps.set("a", p.PidA)
	ta := startAgent(t, t.TempDir(), ps.find)
	req := request("f1", "partition", `{"mode":"drop"}`, "a", time.Minute)
	var first, again Applied
	status, e := ta.call(t, http.MethodPost, PathFaults, req, &first)
	require.Equal(t, http.StatusOK, status, e.Error)
	status, e = ta.call(t, http.MethodPost, PathFaults, req, &again)
	require.Equal(t, http.StatusOK, status, "a retried request: %s", e.Error)
	assert.Equal(t, first.ID, again.ID)
	assert.Len(t, left(t, p.NSA), 1, "applied once")

	other := req
	other.Params = []byte(`{"mode":"reject"}`)
	status, e = ta.call(t, http.MethodPost, PathFaults, other, nil)
	assert.Equal(t, http.StatusConflict, status, "same id, other params")
	assert.Contains(t, e.Error, "held already")
	other = request("f2", "net-loss", `{"loss":"10%"}`, "a", time.Minute)
	other.Run = "run-2"
	status, e = ta.call(t, http.MethodPost, PathFaults, other, nil)
	assert.Equal(t, http.StatusConflict, status, "another run on the same pod")
	assert.Contains(t, e.Error, "in use by run run-1")

	var u Undone
	status, _ = ta.call(t, http.MethodDelete, PathFaults+"/f1", nil, &u)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, Undone{ID: "f1", Known: true}, u)
	assert.Empty(t, left(t, p.NSA))
	assert.Empty(t, ta.j.Pending())
	status, _ = ta.call(t, http.MethodDelete, PathFaults+"/f1", nil, &u)
	require.Equal(t, http.StatusOK, status)
	assert.False(t, u.Known)
}

func TestCloseUndoesEverything(t *testing.T) {
	p := nettest.New(t)
	ps := &pods{}
	ps.set("a", p.PidA)
	dir := t.TempDir()
	ta := startAgent(t, dir, ps.find)
	for i, kind := range []string{"partition", "net-latency", "conn-limit"} {
		params := map[string]string{"partition": `{"peers":["` + p.AddrB + `"]}`, "net-latency": `{"delay":"10ms","port":9}`, "conn-limit": `{"max":3,"port":8000}`}[kind]
		status, e := ta.call(t, http.MethodPost, PathFaults, request("f"+strconv.Itoa(i), kind, params, "a", time.Minute), nil)
		require.Equal(t, http.StatusOK, status, "%s: %s", kind, e.Error)
	}
	assert.Len(t, left(t, p.NSA), 4, "three tables and the shaper's queue")
	require.NoError(t, ta.Close(context.Background()))
	assert.Empty(t, left(t, p.NSA))
	journals, err := filepath.Glob(filepath.Join(JournalDir(dir), "*"))
	require.NoError(t, err)
	assert.Empty(t, journals, "an agent that undid everything leaves no journal")
	assert.True(t, strings.Contains(ta.log.String(), "the agent is stopping"))
}

// hostNS is a path to the host's network namespace (pid 1's, else the
// one this process started in): not /proc/self's, which follows the main
// thread, and a netem probe may have left that in a namespace of its own.
func hostNS() string {
	ino, err := network.HostInode()
	if err != nil {
		panic(err)
	}
	for _, pid := range []int{1, os.Getppid(), os.Getpid()} {
		if got, err := network.PidInode(pid); err == nil && got == ino {
			return fmt.Sprintf("/proc/%d/ns/net", pid)
		}
	}
	panic(fmt.Sprintf("no process of this test is in the host's network namespace net:[%d]", ino))
}
