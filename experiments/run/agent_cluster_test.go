package run

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/network/nettest"
	"github.com/chaos-sre/chaos/faults/remote"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/remote/remotetest"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
	"github.com/chaos-sre/chaos/verify/report"
)

// useAgents points runs at agents of s for the rest of the test.
func useAgents(t *testing.T, s podproxy.Service) {
	old := remote.Agents
	remote.Agents = s
	t.Cleanup(func() { remote.Agents = old })
}

type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) { l.t.Logf("%s", b); return len(b), nil }

// TestAgentRun runs an experiment whose net-latency goes into the pods of
// a Deployment through the chaos agent: the real agent (faults/agent) serves
// in this process behind a stand-in agent pod on the real node, reached
// through the real API server's pod proxy. The slowed pods fail the SLO
// check of the fault's window (exit 1), the recovery holds once rollback
// took the delay off, the report says the agent brought it in, and the
// journal is gone.
func TestAgentRun(t *testing.T) {
	nettest.Require(t)
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-run-agent")
	a := remotetest.Start(t, cs, ns, func(a *remotetest.Agent) http.Handler {
		ag, err := agent.Start(context.Background(), agent.Options{Node: a.Node, StateDir: t.TempDir(), Token: a.Token, Log: testLog{t}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ag.Close(context.Background()) })
		return ag
	})
	useAgents(t, a.Service)
	kubetest.Deployment(t, cs, ns, "web", 2, kubetest.PausePodSpec(8080))
	web := service(t, ns, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
		Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}})
	answers(t, "http://"+net.JoinHostPort(web.Spec.ClusterIP, "80")+"/")
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: slow-pod
stack: {kubernetes: {kubeconfig: %q, namespace: %s, agent_lease: 3s}}
load: {url: "${web}/", method: GET, rate: 20/s, timeout: 3s}
steady_state: {for: 2s, slo: {error_rate: 1%%}}
faults:
  - {name: slow, kind: net-latency, target: {deployment: web}, params: {delay: 300ms}, for: 6s}
checks:
  - {name: fast during, kind: slo, during: slow, p99: 150ms}
  - {name: recovers, kind: recover, within: 20s, slo: {p99: 150ms, error_rate: 1%%}}
`, kc, ns))

	var out bytes.Buffer
	rep, err := Run(context.Background(), exp, Options{Seed: 3, DryRun: true, StateDir: t.TempDir(), Stdout: &out})
	require.NoError(t, err)
	t.Log(out.String())
	assert.Contains(t, out.String(), "slow: net-latency on deployment web (pick all) via the chaos agent on the pod's node, through the API server's pod proxy")
	assert.Equal(t, 2, strings.Count(out.String(), "        through the chaos agent on node "+a.Node+" (pod "+ns+"/"+a.Pod+")\n"), "each pod's agent")
	assert.Equal(t, ExitHeld, rep.ExitCode)

	state := t.TempDir()
	var stderr bytes.Buffer
	rep, err = Run(context.Background(), exp, Options{Seed: 3, StateDir: state, Stderr: &stderr})
	t.Log(stderr.String())
	require.NoError(t, err)
	res := map[string]report.CheckReport{}
	for _, c := range rep.Checks {
		res[c.Name] = c
		t.Logf("%-12s %-6v %s | %s | %s", c.Name, c.Held, c.Measured, c.Bound, c.Reason)
	}
	assert.False(t, res["fast during"].Held, "both pods slowed by 300ms: p99 over 150ms")
	assert.True(t, res["recovers"].Held, "rollback took the delay off")
	assert.Equal(t, ExitFailed, rep.ExitCode)
	require.Len(t, rep.Faults, 1)
	assert.True(t, rep.Faults[0].Injected)
	require.Len(t, rep.Faults[0].Targets, 2)
	assert.Equal(t, "the chaos agent on node "+a.Node+", through the API server's pod proxy: NFQUEUE userspace shaper in the chaos process (nftables rule in the target's network namespace, fail-open); the kernel has no netem qdisc (sch_netem): no such file or directory", rep.Faults[0].Mechanism)
	assert.Contains(t, stderr.String(), "net-latency on pod "+ns+"/web-")
	left, err := journal.Scan(JournalDir(state))
	require.NoError(t, err)
	assert.Empty(t, left, "rolled back: no journal left")
}

// TestAgentRunRefused: no agent on the pods' node stops the run at
// preflight (exit 4, with how to install one); an agent that refuses the
// request as invalid makes the experiment invalid (exit 2), and what was
// journaled is still deleted.
func TestAgentRunRefused(t *testing.T) {
	kc := kubetest.Kubeconfig(t)
	cs := kubetest.Client(t)
	ns := kubetest.Namespace(t, cs, "chaos-run-agent-no")
	rec := &remotetest.Recorder{InvalidKind: "partition"}
	a := remotetest.Start(t, cs, ns, func(a *remotetest.Agent) http.Handler {
		rec.Token, rec.Node = a.Token, a.Node
		return rec.Handler()
	})
	kubetest.Deployment(t, cs, ns, "web", 1, kubetest.PausePodSpec(8080))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), ReadHeaderTimeout: time.Second}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	exp := parse(t, fmt.Sprintf(`version: chaos/v1
name: cut-off
stack: {kubernetes: {kubeconfig: %q, namespace: %s}}
load: {url: "http://%s/", method: GET, rate: 20/s}
steady_state: {for: 1s, slo: {error_rate: 100%%}}
faults:
  - {name: cut, kind: partition, target: {deployment: web}, params: {peers: [service/default/kubernetes]}, for: 3s}
`, kc, ns, l.Addr()))

	none := a.Service
	none.Selector = "app.kubernetes.io/name=no-agent-" + kubetest.Suffix()
	useAgents(t, none)
	rep, err := Run(context.Background(), exp, Options{Seed: 1, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.Equal(t, ExitTool, rep.ExitCode)
	assert.Contains(t, err.Error(), "no chaos agent on node "+a.Node)
	assert.Contains(t, err.Error(), "examples/kubernetes/agent/install.sh")
	assert.Empty(t, rec.Calls())

	useAgents(t, a.Service)
	state := t.TempDir()
	rep, err = Run(context.Background(), exp, Options{Seed: 1, StateDir: state})
	require.Error(t, err)
	assert.Equal(t, ExitInvalid, rep.ExitCode, "%v", err)
	assert.Contains(t, err.Error(), "refused to apply it: kind partition is refused here")
	assert.Empty(t, rec.Held())
	var deletes int
	for _, c := range rec.Calls() {
		if c.Method == http.MethodDelete {
			deletes++
		}
	}
	assert.Equal(t, 1, deletes, "the refused request's id deleted all the same")
	left, err := journal.Scan(JournalDir(state))
	require.NoError(t, err)
	assert.Empty(t, left)
}
