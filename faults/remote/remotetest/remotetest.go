// Package remotetest reaches an agent running in the test process through
// the test cluster's real API server and pod proxy: a pod of the host's
// network (hostNetwork, on the real node, which is this machine) stands for
// the agent's pod, so the API server's proxy to its IP and a port reaches a
// listener of this process. Everything between the run and the agent is
// real: the label and node lookup, the token Secret, the proxy, its
// headers and errors.
package remotetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/internal/kube/kubetest"
)

// Agent is an agent of this process reached through the pod proxy.
type Agent struct {
	Service podproxy.Service
	Node    string // the real node, where the stand-in pod runs
	Pod     string // the stand-in pod
	Token   string
}

// Start serves the handler serve makes (knowing the agent's node and
// token), as an agent on the real node, for the rest of the test: in
// namespace ns (the test's) it makes the token Secret and the stand-in pod
// and waits until it is Ready; its Service says where the run finds it
// (set remote.Agents to it). With serve nil the pod stands and nothing
// listens: the agent's port is closed.
func Start(t testing.TB, cs kubernetes.Interface, ns string, serve func(*Agent) http.Handler) *Agent {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	a := &Agent{Token: hex.EncodeToString(b), Pod: "agent-" + kubetest.Suffix()}
	label := "chaos-agent-" + kubetest.Suffix()
	_, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "agent-token"},
		Data: map[string][]byte{"token": []byte(a.Token + "\n")}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the token Secret: %v", err)
	}
	spec := kubetest.PausePodSpec(0)
	spec.HostNetwork = true
	p, err := cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: a.Pod, Labels: map[string]string{"app.kubernetes.io/name": label}}, Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create the stand-in agent pod: %v", err)
	}
	kubetest.WaitReady(t, cs, ns, "app.kubernetes.io/name="+label, 1)
	if p, err = cs.CoreV1().Pods(ns).Get(ctx, p.Name, metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	a.Node = p.Spec.NodeName
	port := 0
	if serve != nil {
		h := serve(a)
		l, err := net.Listen("tcp", net.JoinHostPort(p.Status.PodIP, "0"))
		if err != nil {
			t.Fatalf("listen on the node's address %s: %v", p.Status.PodIP, err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { _ = srv.Close() })
		port = l.Addr().(*net.TCPAddr).Port
	} else {
		l, err := net.Listen("tcp", net.JoinHostPort(p.Status.PodIP, "0"))
		if err != nil {
			t.Fatal(err)
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close() // a port nothing listens on
	}
	a.Service = podproxy.Service{Namespace: ns, Selector: "app.kubernetes.io/name=" + label, Port: port,
		Secret: "agent-token", SecretKey: "token", Header: agent.TokenHeader}
	return a
}
