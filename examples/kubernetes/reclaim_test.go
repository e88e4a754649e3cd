package kubernetes_test

// cluster.sh reclaim decides whose a cluster's state is before .ci/run
// snapshots the host. These tests give it a state folder of their own
// (CHAOS_K8S_DIR, CHAOS_K8S_CACHE in temporary folders) and only the cases
// that must leave the folder alone: reclaim's down acts on host-wide names
// (the bridge, kube-proxy's tables), which the test cluster CI runs beside
// these tests owns. The down itself is checked by .ci/run, whose host
// check after the cluster's down fails on anything left.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
)

// stateDir makes a folder that looks like one cluster.sh up made.
func stateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "chaos-k8s")
	require.NoError(t, os.MkdirAll(filepath.Join(d, "run"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(d, ".chaos-k8s"), nil, 0o600))
	return d
}

// liveProcess starts a process that outlives the test's reclaim runs and
// returns its pid file line ("PID STARTTIME", as cluster.sh writes them).
func liveProcess(t *testing.T) (pid int, line string) {
	t.Helper()
	cmd := exec.Command("sleep", "120")
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	st, err := faults.StartTime(cmd.Process.Pid)
	require.NoError(t, err)
	return cmd.Process.Pid, fmt.Sprintf("%d %d\n", cmd.Process.Pid, st)
}

// reclaim runs cluster.sh reclaim on state folder d with extra environment.
func reclaim(t *testing.T, d string, env ...string) (stderr string, err error) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CHAOS_REQUIRE_DOCKER") != "" {
			t.Fatal("cluster.sh reclaim needs root")
		}
		t.Skip("cluster.sh reclaim needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "cluster.sh", "reclaim")
	cmd.Env = append(os.Environ(), "CHAOS_K8S_DIR="+d, "CHAOS_K8S_CACHE="+t.TempDir(), "CHAOS_K8S_HOLDER=")
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stderr = &out
	err = cmd.Run()
	return out.String(), err
}

func TestReclaimWithNoClusterDoesNothing(t *testing.T) {
	d := filepath.Join(t.TempDir(), "none")
	stderr, err := reclaim(t, d)
	require.NoError(t, err, stderr)
	require.NoDirExists(t, d)
}

func TestReclaimWaitsForALiveHolder(t *testing.T) {
	d := stateDir(t)
	pid, line := liveProcess(t)
	require.NoError(t, os.WriteFile(filepath.Join(d, "holder"), []byte(line), 0o600))

	stderr, err := reclaim(t, d, "CHAOS_K8S_RECLAIM_WAIT=2")
	require.Error(t, err, "reclaim gave up a cluster another run holds")
	require.Contains(t, stderr, "held by pid "+strconv.Itoa(pid))
	require.Contains(t, stderr, "waiting up to 2 s")
	require.Contains(t, stderr, "still held")
	require.FileExists(t, filepath.Join(d, ".chaos-k8s"), "reclaim touched a live holder's cluster")
	require.FileExists(t, filepath.Join(d, "holder"))
}

func TestReclaimKeepsItsOwnHoldersCluster(t *testing.T) {
	d := stateDir(t)
	pid, line := liveProcess(t)
	require.NoError(t, os.WriteFile(filepath.Join(d, "holder"), []byte(line), 0o600))

	stderr, err := reclaim(t, d, "CHAOS_K8S_HOLDER="+strconv.Itoa(pid), "CHAOS_K8S_RECLAIM_WAIT=2")
	require.NoError(t, err, stderr)
	require.NotContains(t, stderr, "waiting")
	require.FileExists(t, filepath.Join(d, ".chaos-k8s"))
}

func TestReclaimRefusesAClusterBroughtUpByHand(t *testing.T) {
	d := stateDir(t)
	// a daemon of the cluster runs and no holder is recorded
	_, line := liveProcess(t)
	require.NoError(t, os.WriteFile(filepath.Join(d, "run", "etcd.pid"), []byte(line), 0o600))

	stderr, err := reclaim(t, d)
	require.Error(t, err, "reclaim brought down a cluster someone brought up by hand")
	require.Contains(t, stderr, "no run holds")
	require.FileExists(t, filepath.Join(d, ".chaos-k8s"))
	require.FileExists(t, filepath.Join(d, "run", "etcd.pid"))
}
