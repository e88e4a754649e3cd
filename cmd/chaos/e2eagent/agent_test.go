//go:build linux

package e2eagent

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// longLatency writes an experiment that puts delay on every packet the pods
// of target send from or to port 8080, for two minutes (a run the test
// stops or kills first). Scoped to a port, it is served by nftables rules
// and the agent's NFQUEUE shaper whether the kernel has netem or not.
func longLatency(t *testing.T, target, delay string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	file := filepath.Join(t.TempDir(), "long-latency.yaml")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`version: chaos/v1
name: long-latency
stack: {kubernetes: {}}
load: {url: %q, method: GET, rate: 5/s}
faults:
  - {name: slow, kind: net-latency, target: %s, params: {delay: %s, port: 8080}, for: 120s}
`, srv.URL, target, delay)), 0o644))
	return file
}

// agentLog is the log of the agent container of pod p (the running one).
func agentLog(t *testing.T, c *cluster, p *corev1.Pod) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b, err := c.CS.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: "agent"}).DoRaw(ctx)
	require.NoError(t, err)
	return string(b)
}

// TestKilledAgentUndoesAtStart kills the chaos agent's process with
// SIGKILL (from the node) while it holds a fault of a live run, and checks
// from the node that the agent the kubelet restarts (same pod, same
// hostPath journal) undoes it at its start: the table is gone well before
// the run's lease (15 s) could have run out. The run notices and rolls back
// harmlessly. Not parallel: it restarts the node's only agent, which the
// other tests' runs need.
func TestKilledAgentUndoesAtStart(t *testing.T) {
	c := newCluster(t)
	kubetest.Deployment(t, c.CS, c.NS, "web", 1, kubetest.PausePodSpec(8080))
	pod := c.podOf("web")
	pid, _ := podNetns(t, pod)
	agent, agentPid := agentOnNode(t, c, pod.Spec.NodeName)
	restarts := agent.Status.ContainerStatuses[0].RestartCount

	cmd, _, errb := chaosCmd(t, c.Env, "run", longLatency(t, "{deployment: web}", "200ms"), "--state-dir", c.State, "--seed", "4")
	require.NoError(t, cmd.Start())
	run := clitest.RunID(t, errb)
	waitFor(t, "the agent's table in the pod's namespace", 30*time.Second, func() bool { return len(chaosTables(t, pid)) > 0 })
	t.Logf("run %s: net-latency on, as seen from the node: %v", run, chaosTables(t, pid))

	require.NoError(t, syscall.Kill(agentPid, syscall.SIGKILL))
	undo := waitFor(t, "the restarted agent to undo the fault", 14*time.Second, func() bool { return len(chaosTables(t, pid)) == 0 })
	again, againPid := agentOnNode(t, c, pod.Spec.NodeName)
	t.Logf("agent pid %d killed; pid %d (restart %d of pod %s) undid the fault %.2fs after the kill, as seen from the node",
		agentPid, againPid, again.Status.ContainerStatuses[0].RestartCount, again.Name, undo.Seconds())
	assert.Equal(t, agent.UID, again.UID, "the same pod, its container restarted")
	assert.NotEqual(t, agentPid, againPid)
	assert.Equal(t, restarts+1, again.Status.ContainerStatuses[0].RestartCount)
	assert.Less(t, undo, 10*time.Second, "undone by the restart, well before the run's 15 s lease")
	assert.Regexp(t, `undid [1-9]\d* change\(s\) that agent-\S+ left \(journal \S+\) in \S+ at start; 0 could not be undone`, agentLog(t, c, again))

	// the run finds its fault gone at its next renewal (every 5 s)
	clitest.WaitFor(t, "the run to notice", func() bool { return strings.Contains(errb.String(), "no longer holds fault") })
	code := stop(t, cmd)
	t.Logf("the run, stopped: exit %d\n%s", code, errb)
	assert.Empty(t, c.journalsLeft(), "the run rolled back (an idempotent DELETE)")
	code, out, stderr := c.Chaos("recover", "--kubernetes", "--run", run, "--state-dir", t.TempDir())
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "nothing left to undo (0 undone")
}

// TestDeletedTargetLeavesNothing deletes the target pod while the agent
// holds net-latency on it (nftables rules and an NFQUEUE queue in the pod's
// namespace, served by the agent), and checks from the node once it is
// gone: no thread, mount or open file or socket of the agent keeps the old
// pod's network namespace, and the node's own namespace has no table, rule,
// qdisc or NFQUEUE queue more than before. Then `chaos recover
// --kubernetes` finds nothing left.
func TestDeletedTargetLeavesNothing(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	kubetest.Deployment(t, c.CS, c.NS, "web", 1, kubetest.PausePodSpec(8080))
	pod := c.podOf("web")
	pid, ns := podNetns(t, pod)
	_, agentPid := agentOnNode(t, c, pod.Spec.NodeName)
	require.Empty(t, netnsRefs(t, agentPid, ns), "the agent holds nothing of the pod before the fault")
	before := readHost(t)

	cmd, _, errb := chaosCmd(t, c.Env, "run", longLatency(t, "{pod: "+pod.Name+"}", "200ms"), "--state-dir", c.State, "--seed", "6")
	require.NoError(t, cmd.Start())
	run := clitest.RunID(t, errb)
	waitFor(t, "the agent's table in the pod's namespace", 30*time.Second, func() bool { return len(chaosTables(t, pid)) > 0 })
	// what the checks below look for is there while the fault is on
	refs := netnsRefs(t, agentPid, ns)
	queues, err := inNetns(pid, "cat", "/proc/net/netfilter/nfnetlink_queue")
	require.NoError(t, err)
	t.Logf("run %s: net-latency on pod %s: tables %v; the agent holds its namespace by %v; NFQUEUE there: %q", run, pod.Name, chaosTables(t, pid), refs, queues)
	require.NotEmpty(t, refs, "the agent's NFQUEUE socket is in the pod's namespace")
	require.NotEmpty(t, queues, "a queue bound in the pod's namespace")

	deleted := time.Now()
	require.NoError(t, c.CS.CoreV1().Pods(c.NS).Delete(context.Background(), pod.Name, metav1.DeleteOptions{}))
	waitFor(t, "pod "+pod.Name+" gone", time.Minute, func() bool {
		_, err := c.CS.CoreV1().Pods(c.NS).Get(context.Background(), pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	apiGone := time.Since(deleted)
	var holders, agentRefs []string
	released := func() bool {
		holders, agentRefs = netnsHolders(ns), netnsRefs(t, agentPid, ns)
		return len(holders) == 0 && len(agentRefs) == 0
	}
	for !released() {
		if time.Since(deleted) > 30*time.Second {
			t.Fatalf("30s after the delete, the old pod's namespace %v is still held: threads and mounts %v, the agent by %v; the agent's log:\n%s",
				ns, holders, agentRefs, agentLog(t, c, mustAgent(t, c, pod.Spec.NodeName)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("pod deleted: gone from the API %.2fs, its namespace %v held by nothing %.2fs after the delete", apiGone.Seconds(), ns, time.Since(deleted).Seconds())
	assert.Empty(t, readHost(t).leftFor(before, run), "nothing left in the node's own namespace")
	assert.Contains(t, agentLog(t, c, mustAgent(t, c, pod.Spec.NodeName)), "its pod is gone from the node")

	code := stop(t, cmd)
	t.Logf("the run, stopped: exit %d", code)
	assert.Empty(t, c.journalsLeft(), "the run rolled back")
	code, out, stderr := c.Chaos("recover", "--kubernetes", "--run", run, "--state-dir", t.TempDir())
	assert.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "nothing left to undo (0 undone")
}

// mustAgent is the Ready agent pod of node.
func mustAgent(t *testing.T, c *cluster, node string) *corev1.Pod {
	t.Helper()
	p, _ := agentOnNode(t, c, node)
	return p
}
