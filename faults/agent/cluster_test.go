//go:build linux

package agent

import (
	"context"
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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// clusterPod makes a pod of the pause image answering HTTP on 8080 on the
// test cluster's real node and waits until it is ready.
func clusterPod(t *testing.T, cs kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: kubetest.PausePodSpec(8080)}
	_, err := cs.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(t, err)
	kubetest.Eventually(t, "pod "+name+" ready", 2*time.Minute, func() bool {
		pod, err = cs.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil || pod.Status.PodIP == "" || len(pod.Status.ContainerStatuses) == 0 {
			return false
		}
		return pod.Status.ContainerStatuses[0].Ready
	})
	return pod
}

func agentPod(p *corev1.Pod) Pod {
	return Pod{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID), Container: p.Status.ContainerStatuses[0].Name, ContainerID: p.Status.ContainerStatuses[0].ContainerID}
}

// answers says whether the pod answers HTTP within d, from the node.
func answers(ip string, d time.Duration) (time.Duration, bool) {
	c := http.Client{Timeout: d}
	start := time.Now()
	resp, err := c.Get("http://" + ip + ":8080/")
	if err != nil {
		return time.Since(start), false
	}
	resp.Body.Close()
	return time.Since(start), true
}

// podFreezer reads the pod's freezer.state on the node (cgroup v1, the
// cgroupfs driver: /sys/fs/cgroup/freezer/kubepods/QOS/pod<UID>).
func podFreezer(t *testing.T, uid string) string {
	t.Helper()
	dirs, _ := filepath.Glob("/sys/fs/cgroup/freezer/kubepods*/pod" + uid)
	more, _ := filepath.Glob("/sys/fs/cgroup/freezer/kubepods*/*/pod" + uid)
	dirs = append(dirs, more...)
	require.Len(t, dirs, 1, "the pod's freezer cgroup")
	b, err := os.ReadFile(filepath.Join(dirs[0], "freezer.state"))
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

// nodeNetns lists every network namespace on the node that a process or
// a bind mount holds, by a path to enter it.
func nodeNetns(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	paths, _ := filepath.Glob("/proc/[0-9]*/ns/net")
	named, _ := filepath.Glob("/var/run/netns/*")
	for _, p := range append(paths, named...) {
		var st string
		if l, err := os.Readlink(p); err == nil {
			st = l
		} else if fi, err := os.Stat(p); err == nil {
			st = fi.Name()
		}
		if _, ok := out[st]; !ok && st != "" {
			out[st] = p
		}
	}
	return out
}

// leftOnNode lists the tables and qdiscs of the agent's journal run left
// in any network namespace of the node, looked at with nft and tc.
func leftOnNode(t *testing.T, run string) []string {
	t.Helper()
	var left []string
	for ns, path := range nodeNetns(t) {
		out, err := exec.Command("nsenter", "--net="+path, "nft", "list", "tables").CombinedOutput()
		if err == nil && strings.Contains(string(out), "chaos-"+run) {
			left = append(left, ns+": "+strings.TrimSpace(string(out)))
		}
		out, err = exec.Command("nsenter", "--net="+path, "tc", "qdisc", "show").CombinedOutput()
		if err == nil && (strings.Contains(string(out), "netem") || strings.Contains(string(out), "tbf")) {
			left = append(left, ns+": "+strings.TrimSpace(string(out)))
		}
	}
	return left
}

// TestAgentOnTheRealNode runs the agent in this process on the test
// cluster's node (this host) against a real pod: freeze (a hung replica),
// net-latency, and a pod deleted mid-fault; each checked from the node.
func TestAgentOnTheRealNode(t *testing.T) {
	cs := kubetest.Client(t)
	nettestRoot(t)
	ns := kubetest.Namespace(t, cs, "chaos-agent")
	node := "chaos-k8s-node"
	ta := startAgent(t, t.TempDir(), func(_ context.Context, p Pod) (Proc, error) { return FindPod("/proc", node, p) })
	run := strings.TrimSuffix(filepath.Base(ta.Journal()), ".jsonl") // names the agent's tables

	pod := clusterPod(t, cs, ns, "web")
	ip := pod.Status.PodIP
	_, ok := answers(ip, 5*time.Second)
	require.True(t, ok, "the pod answers before any fault")

	t.Run("freeze", func(t *testing.T) {
		req := Request{ID: "freeze-1", Run: "run-1", Fault: "hung", Kind: "pause", Params: []byte(`{}`), Pod: agentPod(pod), LeaseMillis: 60_000}
		var got Applied
		status, e := ta.call(t, http.MethodPost, PathFaults, req, &got)
		require.Equal(t, http.StatusOK, status, e.Error)
		assert.Equal(t, "FROZEN", podFreezer(t, string(pod.UID)))
		took, ok := answers(ip, time.Second)
		assert.False(t, ok, "a frozen pod does not answer (answered in %s)", took)
		status, _ = ta.call(t, http.MethodDelete, PathFaults+"/freeze-1", nil, nil)
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "THAWED", podFreezer(t, string(pod.UID)))
		_, ok = answers(ip, 5*time.Second)
		assert.True(t, ok, "it answers once thawed")
	})

	t.Run("net-latency", func(t *testing.T) {
		before, _ := answers(ip, 5*time.Second)
		req := Request{ID: "lat-1", Run: "run-1", Fault: "slow", Kind: "net-latency", Params: []byte(`{"delay":"300ms"}`), Pod: agentPod(pod), LeaseMillis: 60_000}
		var got Applied
		status, e := ta.call(t, http.MethodPost, PathFaults, req, &got)
		require.Equal(t, http.StatusOK, status, e.Error)
		pid := findPid(t, pod)
		out, err := exec.Command("nsenter", "--net=/proc/"+strconv.Itoa(pid)+"/ns/net", "nft", "list", "tables").CombinedOutput()
		require.NoError(t, err, "%s", out)
		assert.Contains(t, string(out), "table ip chaos-"+run+"-", "the table is in the pod's namespace")
		assert.Empty(t, hostTables(t, run), "nothing in the node's own namespace")
		slow, ok := answers(ip, 10*time.Second)
		require.True(t, ok)
		t.Logf("an HTTP request to the pod took %s before, %s with 300ms of egress latency (%s)", before, slow, got.Mechanism)
		assert.Greater(t, slow, 300*time.Millisecond)
		status, _ = ta.call(t, http.MethodDelete, PathFaults+"/lat-1", nil, nil)
		require.Equal(t, http.StatusOK, status)
		assert.Empty(t, leftOnNode(t, run))
	})

	t.Run("pod deleted mid-fault", func(t *testing.T) {
		doomed := clusterPod(t, cs, ns, "doomed")
		netns, err := netnsOf("/proc", findPid(t, doomed))
		require.NoError(t, err)
		for i, kind := range []string{"net-latency", "partition", "freeze"} {
			params := map[string]string{"net-latency": `{"delay":"50ms"}`, "partition": `{"mode":"drop","peers":["10.96.0.0/16"]}`, "freeze": `{}`}[kind]
			req := Request{ID: "doomed-" + strconv.Itoa(i), Run: "run-1", Fault: kind, Kind: kind, Params: []byte(params), Pod: agentPod(doomed), LeaseMillis: 60_000}
			status, e := ta.call(t, http.MethodPost, PathFaults, req, nil)
			require.Equal(t, http.StatusOK, status, "%s: %s", kind, e.Error)
		}
		require.Len(t, leftOnNode(t, run), 1, "the pod's namespace holds the agent's tables")
		zero := int64(0)
		require.NoError(t, cs.CoreV1().Pods(ns).Delete(context.Background(), "doomed", metav1.DeleteOptions{GracePeriodSeconds: &zero}))
		deleted := time.Now()
		waitFor(t, "the agent to let go of the deleted pod", time.Minute, func() bool {
			for _, a := range ta.list() {
				if a.Pod.Name == "doomed" {
					return false
				}
			}
			return true
		})
		t.Logf("the agent let go of the deleted pod %s after the delete", time.Since(deleted))
		waitFor(t, "the undos journaled", 10*time.Second, func() bool { return len(ta.j.Pending()) == 0 })
		assert.Empty(t, leftOnNode(t, run), "no table or qdisc of the agent anywhere on the node")
		assert.Zero(t, nsHandles(t, netns), "the agent holds no handle to the pod's namespace")
		_, held := nodeNetns(t)["net:["+strconv.FormatUint(netns, 10)+"]"]
		assert.False(t, held, "the pod's namespace is gone from the node")
	})
}

// findPid is the pod's container process, found as the agent finds it.
func findPid(t *testing.T, p *corev1.Pod) int {
	t.Helper()
	pr, err := FindPod("/proc", "chaos-k8s-node", agentPod(p))
	require.NoError(t, err)
	return pr.Pid
}

// hostTables lists the agent run's tables in the node's own namespace.
func hostTables(t *testing.T, run string) []string {
	t.Helper()
	out, err := exec.Command("nsenter", "--net="+hostNS(), "nft", "list", "tables").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var left []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "chaos-"+run) {
			left = append(left, l)
		}
	}
	return left
}

func nettestRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the agent on the node needs root")
	}
}
