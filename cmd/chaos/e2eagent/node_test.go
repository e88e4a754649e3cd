//go:build linux

package e2eagent

// What is on the node, seen from the node itself and never through chaos:
// the tests run on the test cluster's one real node, as root.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaos-sre/chaos/faults/network"
)

// podPids lists the host pids of the processes of the pod with uid: their
// cgroup path has the pod's level (pod<UID> with the cgroupfs driver,
// …-pod<UID_>.slice with systemd's).
func podPids(uid string) []int {
	keys := [][]byte{[]byte("pod" + uid), []byte("pod" + strings.ReplaceAll(uid, "-", "_"))}
	procs, _ := filepath.Glob("/proc/[0-9]*/cgroup")
	var out []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil || !(bytes.Contains(b, keys[0]) || bytes.Contains(b, keys[1])) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil {
			out = append(out, pid)
		}
	}
	slices.Sort(out)
	return out
}

// nsInode is the inode of the network namespace a /proc/…/ns/net link
// names (0 when it cannot be read).
func nsInode(link string) uint64 {
	l, err := os.Readlink(link)
	if err != nil {
		return 0
	}
	var ino uint64
	if _, err := fmt.Sscanf(l, "net:[%d]", &ino); err != nil {
		return 0
	}
	return ino
}

// netnsID names one network namespace for good: its inode, which the
// kernel gives the next namespace it makes once this one is freed (often
// within the second on a busy node), and its cookie, which it never gives
// again.
type netnsID struct{ ino, cookie uint64 }

func (id netnsID) String() string { return fmt.Sprintf("net:[%d] (cookie %d)", id.ino, id.cookie) }

// is reports whether path (a /proc/…/ns/net link, an open namespace file, a
// bind mount of one) is the namespace id.
func (id netnsID) is(path string) bool {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil || st.Ino != id.ino {
		return false
	}
	ns, err := network.Open(path)
	if err != nil {
		return false
	}
	defer ns.Close()
	return ns.Inode == id.ino && ns.Cookie() == id.cookie
}

// podNetns is a host pid in pod's network namespace and that namespace,
// once the pod has processes on the node.
func podNetns(t *testing.T, pod *corev1.Pod) (int, netnsID) {
	t.Helper()
	var pid int
	var id netnsID
	waitFor(t, "the processes of pod "+pod.Name+" on the node", 30*time.Second, func() bool {
		for _, p := range podPids(string(pod.UID)) {
			ns, err := network.OpenPid(p)
			if err != nil {
				continue
			}
			pid, id = p, netnsID{ns.Inode, ns.Cookie()}
			ns.Close()
			return true
		}
		return false
	})
	require.NotZero(t, id.cookie, "the kernel has SO_NETNS_COOKIE")
	return pid, id
}

// inNetns runs a command in the network namespace of pid (nsenter).
func inNetns(pid int, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(pid), "-n", "--"}, args...)...).CombinedOutput()
	return string(out), err
}

// chaosTables lists the nftables tables of pid's network namespace that
// chaos named (chaos-RUN-N), as nft sees them there.
func chaosTables(t *testing.T, pid int) []string {
	t.Helper()
	out, err := inNetns(pid, "nft", "list", "tables")
	require.NoError(t, err, "nft list tables in the namespace of pid %d: %s", pid, out)
	var tables []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "chaos") {
			tables = append(tables, strings.TrimSpace(l))
		}
	}
	return tables
}

// hostState is what a fault must never leave in the node's own network
// namespace: chaos's nftables tables and the rules that name a run, each
// link's qdiscs, the NFQUEUE queues bound.
type hostState struct {
	tables []string          // nft list tables
	rules  string            // nft list ruleset
	qdiscs map[string]string // link → its qdiscs (tc qdisc show)
	queues string            // /proc/net/netfilter/nfnetlink_queue
}

// readHost reads the node's namespace: this process's (the tests run on
// the node, in its namespace).
func readHost(t *testing.T) hostState {
	t.Helper()
	var h hostState
	out, err := exec.Command("nft", "list", "tables").CombinedOutput()
	require.NoError(t, err, "%s", out)
	h.tables = strings.Split(strings.TrimSpace(string(out)), "\n")
	out, err = exec.Command("nft", "list", "ruleset").CombinedOutput()
	require.NoError(t, err, "%s", out)
	h.rules = string(out)
	out, err = exec.Command("tc", "qdisc", "show").CombinedOutput()
	require.NoError(t, err, "%s", out)
	h.qdiscs = map[string]string{}
	dev := regexp.MustCompile(` dev (\S+) `)
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if m := dev.FindStringSubmatch(l); m != nil {
			h.qdiscs[m[1]] += l + "\n"
		}
	}
	b, err := os.ReadFile("/proc/net/netfilter/nfnetlink_queue")
	if err == nil {
		h.queues = string(b)
	}
	return h
}

// leftFor says what the node's namespace holds now that it did not hold
// before and that names run (a table, a rule), a qdisc of chaos's (handle
// c4a0:) or one changed on a link that was there before, and an NFQUEUE
// queue bound that was not. Links that came or went meanwhile (other
// tests' pods) are not compared.
func (h hostState) leftFor(before hostState, run string) []string {
	var left []string
	for _, tb := range h.tables {
		if strings.Contains(tb, "chaos") && !slices.Contains(before.tables, tb) {
			left = append(left, "table "+tb)
		}
	}
	if run != "" && strings.Contains(h.rules, run) {
		left = append(left, "a rule naming run "+run)
	}
	for link, q := range h.qdiscs {
		if strings.Contains(q, "c4a0:") {
			left = append(left, "a qdisc of chaos on "+link+": "+q)
		}
		if b, ok := before.qdiscs[link]; ok && b != q {
			left = append(left, fmt.Sprintf("the qdiscs of %s changed: %q, were %q", link, q, b))
		}
	}
	if h.queues != before.queues {
		left = append(left, fmt.Sprintf("NFQUEUE queues bound: %q, were %q", h.queues, before.queues))
	}
	return left
}

// netnsRefs says how process pid still holds the network namespace id: a
// thread in it, an open namespace file, or a socket made in it (an NFQUEUE
// or netlink handle: SIOCGSKNS on a copy of the socket, taken with
// pidfd_getfd).
func netnsRefs(t *testing.T, pid int, id netnsID) []string {
	t.Helper()
	var refs []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", pid))
	for _, p := range tasks {
		if id.is(p) {
			refs = append(refs, "thread "+filepath.Base(filepath.Dir(filepath.Dir(p))))
		}
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	require.NoError(t, err, "pidfd_open %d", pid)
	defer unix.Close(pidfd)
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, e := range fds {
		path := fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())
		link, err := os.Readlink(path)
		if err != nil {
			continue
		}
		if link == fmt.Sprintf("net:[%d]", id.ino) {
			if id.is(path) {
				refs = append(refs, "fd "+e.Name()+" (the namespace)")
			}
			continue
		}
		if !strings.HasPrefix(link, "socket:") {
			continue
		}
		n, _ := strconv.Atoi(e.Name())
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			continue // closed meanwhile
		}
		nsfd, err := unix.IoctlRetInt(fd, unix.SIOCGSKNS)
		unix.Close(fd)
		if err != nil {
			continue
		}
		if id.is(fmt.Sprintf("/proc/self/fd/%d", nsfd)) {
			refs = append(refs, "fd "+e.Name()+" (a socket in it)")
		}
		unix.Close(nsfd)
	}
	return refs
}

// netnsHolders lists every thread on the node in the network namespace
// id, and the mounts of it (a bind mount keeps it too).
func netnsHolders(id netnsID) []string {
	var out []string
	tasks, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*/ns/net")
	for _, p := range tasks {
		if nsInode(p) == id.ino && id.is(p) {
			out = append(out, p)
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 4 && strings.Contains(l, fmt.Sprintf("net:[%d]", id.ino)) && id.is(f[4]) {
				out = append(out, "mount "+l)
			}
		}
	}
	return out
}

// agentOnNode is the chaos agent's pod on node and the host pid of its
// chaos process, once it is Ready.
func agentOnNode(t *testing.T, c *cluster, node string) (*corev1.Pod, int) {
	t.Helper()
	var pod *corev1.Pod
	var pid int
	waitFor(t, "a Ready chaos agent on node "+node, 2*time.Minute, func() bool {
		l, err := c.CS.CoreV1().Pods("chaos-system").List(context.Background(), metav1.ListOptions{
			LabelSelector: "app.kubernetes.io/name=chaos-agent", FieldSelector: "spec.nodeName=" + node})
		require.NoError(t, err)
		for i, p := range l.Items {
			if p.DeletionTimestamp != nil || !ready(&p) {
				continue
			}
			for _, pp := range podPids(string(p.UID)) {
				cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pp))
				if bytes.HasPrefix(cmd, []byte("/chaos\x00agent\x00")) {
					pod, pid = &l.Items[i], pp
					return true
				}
			}
		}
		return false
	})
	return pod, pid
}

// ready says whether a pod is Ready.
func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitFor polls cond every 50 ms until it holds, failing the test after
// timeout; it returns how long it took.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}
