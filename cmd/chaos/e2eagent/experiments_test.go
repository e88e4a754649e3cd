//go:build linux

package e2eagent

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// TestAgentExperiments runs the bundled experiments that go through the
// chaos agent against two stacks at once, each in a namespace of its own:
// the full gateway, where they hold (exit 0), followed by net-latency on a
// primary measured from a probe pod and a run killed mid-fault, and by a
// game-day from the CronJob; and the crippled gateways, where each fails
// (exit 1) on the check that guards what the gateway lacks, followed by the
// same game-day suite run from this host.
func TestAgentExperiments(t *testing.T) {
	t.Parallel()
	t.Run("full gateway", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		c.stack("")
		for _, e := range []string{"net-slow-primary", "net-partition-primaries"} {
			code, out, stderr := c.experiment(e)
			if !assert.Equal(t, 0, code, "%s\nstdout:\n%s\nstderr:\n%s", e, out, stderr) {
				c.waitStackReady()
			}
		}
		t.Run("net-latency from a probe pod, run killed: undone at the lease's end", func(t *testing.T) {
			killedRunLease(t, c.with(t))
		})
		t.Run("game-day CronJob", func(t *testing.T) {
			cronJobGameday(t, c.with(t))
		})
		assert.Empty(t, c.journalsLeft(), "every run rolled back everything")
	})
	t.Run("crippled gateways", func(t *testing.T) {
		t.Parallel()
		c := newCluster(t)
		c.stack("no-ejection")
		failsOn := func(experiment, check, measured string) {
			t.Helper()
			c.waitStackReady()
			code, out, stderr := c.experiment(experiment)
			assert.Equal(t, 1, code, "%s\nstdout:\n%s\nstderr:\n%s", experiment, out, stderr)
			assert.NotContains(t, out, "✗ steady state", "the stack was healthy before the fault")
			assert.Regexp(t, `(?m)^\s*✗ `+check+`: `+measured, out)
		}
		failsOn("net-slow-primary", "replica ejected", "max of gateway_ejected_replicas 0 ")
		failsOn("pause-primary", "replica ejected", "max of gateway_ejected_replicas 0 ")
		t.Run("game-day from this host", func(t *testing.T) {
			hostGameday(t, c.with(t))
		})
		c.stack("no-fallback")
		failsOn("net-partition-primaries", "fallback answers", "degraded 0% ")
		assert.Empty(t, c.journalsLeft(), "every run rolled back everything")
	})
}

// killedRunLease slows model-primary-0 by 300 ms (what it sends from its
// port 8000: nftables and the agent's NFQUEUE shaper, netem or not) in a
// run whose agent lease is 4 s, measured from a probe pod (before, during), kills the run
// with SIGKILL, and measures from the node how long the agent takes to
// undo it (no chaos table left in the pod's network namespace): within the
// lease, and not much before (nothing else undid it); the probe sees the
// latency gone.
func killedRunLease(t *testing.T, c *cluster) {
	const lease = 4 * time.Second
	pod := c.pod("model-primary-0")
	c.probePod("probe", "http://"+pod.Status.PodIP+":8000/healthz")
	pid, _ := podNetns(t, pod)
	require.Empty(t, chaosTables(t, pid), "no fault before the run")

	file := filepath.Join(t.TempDir(), "slow-primary-killed.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: slow-primary-killed
stack: {kubernetes: {agent_lease: %s}}
load: {url: "${gateway}/healthz", method: GET, rate: 5/s}
faults:
  - {name: slow, kind: net-latency, target: {pod: model-primary-0}, params: {delay: 300ms, port: 8000}, for: 120s}
`, lease)), 0o644))
	started := time.Now()
	cmd, _, errb := chaosCmd(t, c.Env, "run", file, "--state-dir", c.State, "--seed", "3")
	require.NoError(t, cmd.Start())
	run := clitest.RunID(t, errb)
	waitFor(t, "the agent's table in model-primary-0's namespace", 30*time.Second, func() bool {
		return len(chaosTables(t, pid)) > 0
	})
	injected := time.Now()
	t.Logf("run %s: net-latency on, as seen from the node: %v", run, chaosTables(t, pid))
	var during []sample
	waitFor(t, "10 fetches of the probe with the fault on", 30*time.Second, func() bool {
		during = c.samples("probe", injected.Add(300*time.Millisecond))
		return len(during) >= 10
	})

	require.NoError(t, cmd.Process.Kill())
	killed := time.Now()
	_ = cmd.Wait()
	undo := waitFor(t, "the agent to undo the fault of the killed run", lease+10*time.Second, func() bool {
		return len(chaosTables(t, pid)) == 0
	})
	var after []sample
	waitFor(t, "10 fetches of the probe after the undo", 30*time.Second, func() bool {
		after = c.samples("probe", killed.Add(undo+200*time.Millisecond))
		return len(after) >= 10
	})
	all := c.samples("probe", time.Time{})
	before := between(all, time.Time{}, started)
	firstFast := "none"
	for _, s := range between(all, killed, time.Now()) {
		if s.ok && s.ms < 150 {
			firstFast = fmt.Sprintf("%.2fs after the kill", s.at.Sub(killed).Seconds())
			break
		}
	}
	t.Logf("probe → model-primary-0 median latency: before %.1f ms (%d fetches), during %.1f ms (%d), after %.1f ms (%d); "+
		"killed run: the agent undid it %.2fs after the kill, as seen from the node (lease %s); the probe's first fast answer %s",
		median(before), len(before), median(during), len(during), median(after), len(after), undo.Seconds(), lease, firstFast)
	assert.Less(t, median(before), 100.0, "before the fault")
	assert.GreaterOrEqual(t, median(during), 270.0, "300 ms on every packet model-primary-0 sends")
	assert.Less(t, median(after), 100.0, "after the agent undid it")
	// the run renewed every third of the lease: its last renewal came at
	// most lease/3 before the kill, so the lease ran out 2/3 to 3/3 of it
	// after; far sooner would be something else than the lease
	assert.LessOrEqual(t, undo, lease+1500*time.Millisecond, "undone within the lease (and a margin)")
	assert.GreaterOrEqual(t, undo, lease/2, "undone by the lease's end, not earlier")

	code, out, stderr := c.Chaos("recover", "--state-dir", c.State)
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	code, out, stderr = c.Chaos("recover", "--kubernetes", "--run", run, "--state-dir", t.TempDir())
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "nothing left to undo (0 undone", "the agent holds nothing of the killed run")
	c.waitStackReady()
}

// stop stops a run as Ctrl-C would and waits for it (bounded: the
// command dies with the test's context) and returns its exit code.
func stop(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	return clitest.ExitCode(cmd.Wait())
}
