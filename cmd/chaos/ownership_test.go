//go:build unix

package main

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// sleeper starts a child process that sleeps until the test ends.
func sleeper(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = syscall.Kill(cmd.Process.Pid, syscall.SIGCONT); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// stopFor writes an experiment that SIGSTOPs pid for d after a 700 ms
// steady state, with load on a loopback server.
func stopFor(t *testing.T, name string, pid int, d time.Duration) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: %s
load: {url: "%s/", method: GET, rate: 20/s}
steady_state: {for: 700ms, slo: {error_rate: 1%%}}
faults:
  - {name: hang, kind: process, target: {pid: %d}, params: {signal: STOP}, for: %s}
`, name, srv.URL, pid, d)), 0o644))
	return file
}

// runID is the id a run printed at preflight.
func runID(t *testing.T, errb *syncBuffer) string {
	t.Helper()
	return clitest.RunID(t, errb)
}

func exitOf(err error) int { return clitest.ExitCode(err) }

// TestRecoverLeavesALiveRunAlone: `chaos recover` while a run is on finds
// its journal locked, says whose run it is, exits 0 and undoes nothing; the
// run keeps its fault to its end and holds.
func TestRecoverLeavesALiveRunAlone(t *testing.T) {
	pid := sleeper(t)
	state := t.TempDir()
	cmd, _, errb := chaosCmd(t, "run", stopFor(t, "live", pid, 4*time.Second), "--state-dir", state)
	require.NoError(t, cmd.Start())
	id := runID(t, errb)
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })

	for _, args := range [][]string{{"recover", "--state-dir", state}, {"recover", "--state-dir", state, "--run", id}} {
		code, out, stderr := chaos(t, args...)
		assert.Equal(t, 0, code, stderr)
		assert.Contains(t, out, "run "+id+" (pid "+strconv.Itoa(cmd.Process.Pid)+`, experiment "live"`)
		assert.Contains(t, out, "is still running: its faults are its own to roll back; nothing undone")
		assert.NotContains(t, out, "undid")
		assert.Equal(t, "T", procState(pid), "the live run's fault stays")
	}
	require.NoError(t, cmd.Wait(), errb.String())
	assert.NotEqual(t, "T", procState(pid), "the run rolled back its own fault")
	left, _ := filepath.Glob(filepath.Join(state, "journal", "*"))
	assert.Empty(t, left, "a finished run leaves no journal")
}

// TestSecondRunOnALeasedTargetStopsAtPreflight: a second run (another
// state folder, as another user's) that wants the target a live run holds
// exits 4 naming the holder; it injects nothing and undoes nothing, and the
// first run's fault stays to its end.
func TestSecondRunOnALeasedTargetStopsAtPreflight(t *testing.T) {
	pid := sleeper(t)
	a, _, errA := chaosCmd(t, "run", stopFor(t, "first", pid, 4*time.Second), "--state-dir", t.TempDir())
	require.NoError(t, a.Start())
	idA := runID(t, errA)
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errA.String(), "sent SIGSTOP") })

	code, _, stderr := chaos(t, "run", stopFor(t, "second", pid, time.Second), "--state-dir", t.TempDir())
	assert.Equal(t, 4, code, stderr)
	assert.Contains(t, stderr, "is in use by run "+idA)
	assert.Contains(t, stderr, `experiment "first"`)
	assert.NotContains(t, stderr, "sent SIG", "the second run injected nothing")
	assert.NotContains(t, stderr, "baseline", "it stopped at preflight")
	assert.Equal(t, "T", procState(pid), "the first run's fault stays")

	require.NoError(t, a.Wait(), errA.String())
	assert.NotEqual(t, "T", procState(pid))
	code, _, stderr = chaos(t, "run", stopFor(t, "third", pid, 500*time.Millisecond), "--state-dir", t.TempDir())
	assert.Equal(t, 0, code, "the lease is released at the first run's end\n%s", stderr)
}

// killedStop runs a STOP experiment in state and kills it with SIGKILL once
// the fault is on: its journal is left for recover.
func killedStop(t *testing.T, state string, pid int) {
	t.Helper()
	cmd, _, errb := chaosCmd(t, "run", stopFor(t, "killed", pid, time.Minute), "--state-dir", state)
	require.NoError(t, cmd.Start())
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	require.Equal(t, "T", procState(pid))
}

// TestRecoverSkipsUnreadableJournals: journals that cannot be read or
// trusted are each reported and skipped; the good one beside them is
// recovered; the exit code is 4 so nobody takes it for a clean recover.
func TestRecoverSkipsUnreadableJournals(t *testing.T) {
	pid := sleeper(t)
	state := t.TempDir()
	killedStop(t, state, pid)
	dir := filepath.Join(state, "journal")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "x.jsonl"), 0o700))
	big := `{"op":"open","meta":{"version":2,"run":"big"}}` + "\n" + `{"op":"do","data":"` + strings.Repeat("y", 4<<20) + `"}` + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "big.jsonl"), []byte(big), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "shared.jsonl"), []byte(`{"op":"open","meta":{"version":2,"run":"shared"}}`+"\n"), 0o644))

	code, out, stderr := chaos(t, "recover", "--state-dir", state)
	assert.Equal(t, 4, code, out+stderr)
	assert.Contains(t, out, "undid hang on pid "+strconv.Itoa(pid))
	assert.NotEqual(t, "T", procState(pid), "the good journal was recovered")
	assert.Contains(t, stderr, "x.jsonl: not a regular file")
	assert.Contains(t, stderr, "big.jsonl line 2: a line over")
	assert.Contains(t, stderr, "shared.jsonl: mode 0644 lets others read or write it")
	left, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	assert.Len(t, left, 3, "only the bad ones stay")
}

// TestRecoverIgnoresPlantedEntries: a journal planted in the state folder
// with entries its run never made — SIGKILL a chosen pid, SIGCONT a process
// someone else stopped, a pid with another start time — does nothing to
// those processes.
func TestRecoverIgnoresPlantedEntries(t *testing.T) {
	victim, stopped := sleeper(t), sleeper(t)
	require.NoError(t, syscall.Kill(stopped, syscall.SIGSTOP))
	waitFor(t, "the process to stop", func() bool { return procState(stopped) == "T" })
	start := func(pid int) string {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		require.NoError(t, err)
		s := string(b)
		return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[19]
	}
	state := t.TempDir()
	dir := filepath.Join(state, "journal")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	lines := []string{
		`{"op":"open","meta":{"version":2,"run":"planted","pid":1}}`,
		fmt.Sprintf(`{"op":"lease","key":"pid:%d:%s"}`, victim, start(victim)),
		fmt.Sprintf(`{"op":"lease","key":"pid:%d:1"}`, stopped),
		fmt.Sprintf(`{"op":"do","id":1,"run":"planted","fault":"kill","target":"victim","key":"pid:%d:%s","action":"signal","data":{"pid":%d,"start_time":%s,"signal":"KILL"}}`, victim, start(victim), victim, start(victim)),
		`{"op":"done","id":1}`,
		fmt.Sprintf(`{"op":"do","id":2,"run":"planted","fault":"cont","target":"stopped","key":"pid:%d:1","action":"signal","data":{"pid":%d,"start_time":1,"signal":"CONT"}}`, stopped, stopped),
		`{"op":"done","id":2}`,
		fmt.Sprintf(`{"op":"do","id":3,"run":"planted","fault":"unleased","target":"stopped","key":"pid:%d:9","action":"signal","data":{"pid":%d,"start_time":9,"signal":"CONT"}}`, stopped, stopped),
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "planted.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	code, out, stderr := chaos(t, "recover", "--state-dir", state)
	assert.Equal(t, 0, code, out+stderr)
	assert.Contains(t, out, "skipped kill on victim (run planted): pid "+strconv.Itoa(victim)+" is not the target that was changed (an undo only ever sends SIGCONT")
	assert.Contains(t, out, "skipped cont on stopped (run planted): pid "+strconv.Itoa(stopped)+" is not the target that was changed")
	assert.Contains(t, out, "skipped unleased on stopped (run planted): its run never leased")
	assert.NotContains(t, out, "undid")
	require.NoError(t, syscall.Kill(victim, 0), "the victim lives")
	assert.Equal(t, "T", procState(stopped), "someone else's stop stays")
}

// proxyFaultFor writes an experiment that puts an http-error fault on the
// route of a `chaos proxy` at api for d.
func proxyFaultFor(t *testing.T, name, route, api string, d time.Duration) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: %s
load: {url: "http://%s/v1/chat/completions", rate: 20/s}
steady_state: {for: 700ms, slo: {error_rate: 1%%}}
faults:
  - {name: busy, kind: http-error, target: {proxy: m, api: "%s"}, params: {status: 503}, for: %s}
`, name, route, api, d)), 0o644))
	return file
}

// TestKillMatrixTwoConcurrentRuns: two runs at once on different targets
// in each family — a process STOP, a namespace's net-latency, a `chaos
// proxy` route's http-error — all killed with SIGKILL at random points of
// their lives (preflight, baseline, fault on, rollback), then one `chaos
// recover`: nothing of any is left — no stopped process, no table, no qdisc,
// no proxy fault, no journal, no lease. (The container family runs the same
// matrix in cmd/chaos/e2ecompose's TestCompose.)
func TestKillMatrixTwoConcurrentRuns(t *testing.T) {
	nettest.Require(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	state := t.TempDir()
	leases := t.TempDir()
	t.Setenv("CHAOS_LEASE_DIR", leases)
	for round := range 4 {
		pids := []int{sleeper(t), sleeper(t)}
		pairs := []*nettest.Pair{nettest.New(t), nettest.New(t)}
		var cmds []*exec.Cmd
		var errs []*syncBuffer
		var apis []string
		for i := range 2 {
			route, api, _ := startProxy(t, "--listen", "m=127.0.0.1:0", "--upstream", okUpstream(t), "--api", "127.0.0.1:0")
			apis = append(apis, api)
			files := []string{stopFor(t, fmt.Sprintf("stop-%d-%d", round, i), pids[i], 1500*time.Millisecond),
				netExperiment(t, pairs[i], "net-latency", "{delay: 20ms}"),
				proxyFaultFor(t, fmt.Sprintf("proxy-%d-%d", round, i), route, api, 2*time.Second)}
			for _, f := range files {
				cmd, _, errb := chaosCmd(t, "run", f, "--state-dir", state)
				cmd.Env = append(cmd.Env, "CHAOS_LEASE_DIR="+leases)
				require.NoError(t, cmd.Start())
				cmds, errs = append(cmds, cmd), append(errs, errb)
			}
		}
		for i, cmd := range cmds {
			at := time.Duration(rng.Int64N(int64(3 * time.Second)))
			go func() { time.Sleep(at); _ = cmd.Process.Kill() }()
			t.Logf("round %d run %d killed at +%s", round, i, at)
		}
		for i, cmd := range cmds {
			err := cmd.Wait()
			// Killed (-1), or ended first: held (0) or not (1, the loaded
			// machine); never 4, which would be a lease or rollback error.
			if code := exitOf(err); code != -1 && code != 0 && code != 1 {
				t.Errorf("round %d run %d: exit %d\n%s", round, i, code, errs[i].String())
			}
		}
		code, out, stderr := chaos(t, "recover", "--state-dir", state)
		require.Equal(t, 0, code, out+stderr)
		for _, pid := range pids {
			assert.NotEqual(t, "T", procState(pid), "round %d: pid %d left stopped\n%s", round, pid, out)
		}
		for _, p := range pairs {
			tables, qdiscs, queues, err := nettest.Left(p.NSA)
			require.NoError(t, err)
			assert.Empty(t, tables, "round %d\n%s", round, out)
			assert.Empty(t, qdiscs, "round %d", round)
			assert.Empty(t, queues, "round %d", round)
		}
		for _, api := range apis {
			c, body := apiCall(t, "GET", api+"/routes/m/faults", "", "")
			assert.Equal(t, 200, c)
			assert.JSONEq(t, `[]`, body, "round %d: no proxy fault left", round)
		}
		left, _ := filepath.Glob(filepath.Join(state, "journal", "*"))
		assert.Empty(t, left, "round %d: journals", round)
		held, _ := filepath.Glob(filepath.Join(leases, "*"))
		assert.Empty(t, held, "round %d: leases", round)
	}
}
