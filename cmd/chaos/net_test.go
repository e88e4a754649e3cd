package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// netExperiment writes an experiment that puts one network fault of kind
// with params on the process in namespace A of p for a minute.
func netExperiment(t *testing.T, p *nettest.Pair, kind, params string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	params = strings.ReplaceAll(params, "PEER", p.AddrB)
	file := filepath.Join(t.TempDir(), kind+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: net-%s
load: {url: "%s/", method: GET, rate: 20/s}
steady_state: {for: 700ms, slo: {error_rate: 1%%}}
faults:
  - {name: net, kind: %s, target: {pid: %d}, params: %s, for: 60s}
`, kind, srv.URL, kind, p.PidA, params)), 0o644))
	return file
}

// waitNet waits until chaos says the fault of kind is on.
func waitNet(t *testing.T, errb *syncBuffer, kind string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(errb.String(), "  "+kind+" on ") {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s to be injected:\n%s", kind, errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestKilledNetRunIsUndoneByRecover: for every network kind, kill -9 of
// `chaos run` while the fault is on, then `chaos recover`: no table, qdisc
// or queue binding of the run is left in the target's namespace.
func TestKilledNetRunIsUndoneByRecover(t *testing.T) {
	kinds := []struct{ kind, params, leaves string }{
		{"net-latency", "{delay: 50ms, jitter: 5ms, peers: [PEER], port: 9000}", "table"},
		{"net-loss", "{loss: 10%}", "table"},
		{"net-loss", "{loss: 10%, correlation: 25%}", "table"},
		{"net-corrupt", "{corrupt: 5%}", "table"},
		{"net-duplicate", "{duplicate: 5%, protocol: udp}", "table"},
		{"net-bandwidth", "{rate: 1mbit}", "qdisc"},
		{"net-bandwidth", "{rate: 1mbit, peers: [PEER]}", "table"},
		{"partition", "{peers: [PEER]}", "table"},
		{"dns", "{mode: slow, delay: 1s}", "table"},
		{"conn-limit", "{max: 2, port: 9000}", "table"},
	}
	for _, k := range kinds {
		t.Run(k.kind+" "+k.params, func(t *testing.T) {
			t.Parallel()
			p := nettest.New(t)
			file := netExperiment(t, p, k.kind, k.params)
			state := t.TempDir()
			cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", state)
			require.NoError(t, cmd.Start())
			waitNet(t, errb, k.kind)
			tables, qdiscs, queues, err := nettest.Left(p.NSA)
			require.NoError(t, err)
			switch k.leaves {
			case "table":
				require.Len(t, tables, 1, "the fault's table is in the namespace\n%s", errb.String())
			case "qdisc":
				require.Len(t, qdiscs, 1, "the fault's qdisc is in the namespace\n%s", errb.String())
			}
			if strings.Contains(errb.String(), "NFQUEUE") {
				require.Len(t, queues, 1, "a queue consumer is bound")
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			_ = cmd.Wait()
			tables2, qdiscs2, queues2, err := nettest.Left(p.NSA)
			require.NoError(t, err)
			assert.Equal(t, tables, tables2, "kill -9 leaves the rules behind")
			assert.Equal(t, qdiscs, qdiscs2, "kill -9 leaves the qdisc behind")
			assert.Empty(t, queues2, "the queue consumer died with chaos (the rules' bypass lets packets pass)")

			code, out, stderr := chaos(t, "recover", "--state-dir", state)
			require.Equal(t, 0, code, stderr)
			assert.Contains(t, out, "undid net")
			tables, qdiscs, queues, err = nettest.Left(p.NSA)
			require.NoError(t, err)
			assert.Empty(t, tables, "recover removed the table")
			assert.Empty(t, qdiscs, "recover removed the qdisc")
			assert.Empty(t, queues)
		})
	}
}

// TestNetFaultRollsBackOnSIGTERM: an ordinary end (SIGTERM mid-fault) takes
// everything out of the namespace and says which mechanism served.
func TestNetFaultRollsBackOnSIGTERM(t *testing.T) {
	p := nettest.New(t)
	file := netExperiment(t, p, "net-latency", "{delay: 100ms, peers: [PEER]}")
	state := t.TempDir()
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", state)
	require.NoError(t, cmd.Start())
	waitNet(t, errb, "net-latency")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	_ = cmd.Wait()
	assert.Contains(t, errb.String(), "NFQUEUE userspace shaper", "the mechanism is named")
	tables, qdiscs, queues, err := nettest.Left(p.NSA)
	require.NoError(t, err)
	assert.Empty(t, tables)
	assert.Empty(t, qdiscs)
	assert.Empty(t, queues)
	left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	assert.Empty(t, left, "nothing left for recover")
}

// TestNetBadInput: bad parameters are exit 2, what cannot be injected is
// exit 4 with one line, and nothing is half-applied.
func TestNetBadInput(t *testing.T) {
	p := nettest.New(t)
	tests := []struct {
		name, kind, params string
		target             string
		code               int
		says               string
	}{
		{"negative delay", "net-latency", "{delay: -5ms}", "", 2, "negative"},
		{"loss over 100%", "net-loss", "{loss: 140%}", "", 2, "out of range"},
		{"bad rate", "net-bandwidth", "{rate: fast}", "", 2, "not a rate"},
		{"peer resolves to nothing", "partition", "{peers: [no-such-service.invalid]}", "", 4, "resolves to nothing"},
		{"host namespace", "net-loss", "{loss: 10%}", fmt.Sprintf("{pid: %d}", hostSleep(t)), 2, "host's network namespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			file := netExperiment(t, p, tc.kind, tc.params)
			if tc.target != "" {
				b, _ := os.ReadFile(file)
				b = []byte(strings.Replace(string(b), fmt.Sprintf("{pid: %d}", p.PidA), tc.target, 1))
				require.NoError(t, os.WriteFile(file, b, 0o644))
			}
			code, _, stderr := chaos(t, "run", file, "--state-dir", t.TempDir())
			assert.Equal(t, tc.code, code, stderr)
			assert.Contains(t, stderr, tc.says)
			tables, qdiscs, queues, err := nettest.Left(p.NSA)
			require.NoError(t, err)
			assert.Empty(t, append(append(tables, qdiscs...), queues...), "nothing applied")
		})
	}
}

// TestNetNeedsCapNetAdmin: without CAP_NET_ADMIN the run stops at
// preflight with exit 4 and says what it needs.
func TestNetNeedsCapNetAdmin(t *testing.T) {
	p := nettest.New(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("needs setpriv to drop the capability")
	}
	file := netExperiment(t, p, "net-loss", "{loss: 10%}")
	cmd := exec.Command("setpriv", "--bounding-set=-net_admin", "--", os.Args[0], "run", file, "--state-dir", t.TempDir())
	cmd.Env = append(os.Environ(), "CHAOS_TEST_MAIN=1")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, string(out))
	assert.Equal(t, 4, ee.ExitCode(), string(out))
	assert.Contains(t, string(out), "needs CAP_NET_ADMIN")
}
