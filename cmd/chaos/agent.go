package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	runpkg "github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/faults/agent"
	"github.com/chaos-sre/chaos/faults/network"
)

// agentOptions are the flags of `chaos agent`.
type agentOptions struct {
	listen    string
	tokenFile string
	stateDir  string
	node      string
}

func newAgentCmd(stderr io.Writer) *cobra.Command {
	var o agentOptions
	c := &cobra.Command{
		Use:   "agent [--listen :8475] [--token-file FILE] [--state-dir DIR] [--node NAME]",
		Short: "Run the node agent that applies in-pod faults for runs elsewhere (a Kubernetes DaemonSet)",
		Long: `chaos agent runs on every node of a Kubernetes cluster, as a DaemonSet in the namespace ` + agent.Namespace + `
(examples/kubernetes/agent/), and applies to the pods of its node the faults that need the pod's own
network namespace or cgroup: net-latency, net-loss, net-corrupt, net-duplicate, net-bandwidth,
partition, dns, conn-limit, and freeze (pause on a pod: the cgroup freezer). A chaos run elsewhere
reaches it through the API server's pod proxy with the token of the Secret ` + agent.SecretName + `.

It needs hostPID (it finds a pod's container process through the node's /proc, by the pod's UID in
its cgroup path), privileged (CAP_NET_ADMIN and CAP_SYS_ADMIN to enter namespaces; the node's cgroup
freezer through /proc/1/root) and a hostPath state folder. It must NOT run with hostNetwork: it
listens on --listen in its own pod's network namespace, so the port is the pod IP's only; in the
node's namespace it refuses an address beyond loopback.

Every change is journaled in --state-dir before it is made. A fault lasts as long as its run renews
its lease, and For + Lease at the most; a fault whose lease ran out, or whose pod went from the
node, is undone at once. At start the agent undoes everything the journals of earlier agents hold
(killed, evicted, node rebooted) before it serves; on SIGTERM it undoes everything it holds and
exits 0 (4 when something could not be undone: it stays journaled for the next start).

The token: --token-file (the Secret's key mounted as a file), else $` + agent.TokenEnv + `.
The node: --node, else $NODE_NAME (the downward API's spec.nodeName).`,
		Example: `  chaos agent --token-file /var/run/chaos-agent/token --state-dir /var/lib/chaos-agent   # NODE_NAME from the downward API`,
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runAgent(c.Context(), o, stderr)
		},
	}
	f := c.Flags()
	f.StringVar(&o.listen, "listen", ":"+strconv.Itoa(agent.Port), "address of the API, in the agent's pod (never with hostNetwork)")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the token (the Secret "+agent.SecretName+" key "+agent.SecretKey+" mounted); else $"+agent.TokenEnv)
	f.StringVar(&o.stateDir, "state-dir", "/var/lib/chaos-agent", "folder of the agent's journals: a hostPath, so a restarted agent undoes what the last one left")
	f.StringVar(&o.node, "node", "", "this node's name (default $NODE_NAME)")
	return c
}

// runAgent serves the agent until ctx ends (SIGTERM), then undoes what it
// holds.
func runAgent(ctx context.Context, o agentOptions, stderr io.Writer) error {
	invalid := func(err error) error { return &runpkg.ExitError{Code: runpkg.ExitInvalid, Err: err} }
	if o.node == "" {
		o.node = os.Getenv("NODE_NAME")
	}
	if o.node == "" {
		return invalid(errors.New("agent: no node name (valid: --node NAME, or $NODE_NAME from the downward API's spec.nodeName)"))
	}
	tok, err := agent.LoadToken(o.tokenFile)
	if err != nil {
		return invalid(fmt.Errorf("agent: %w", err))
	}
	if err := listenInPod(o.listen); err != nil {
		return invalid(err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("agent: %w", err)}
	}
	a, err := agent.Start(ctx, agent.Options{Node: o.node, StateDir: o.stateDir, Token: tok, Log: stderr})
	if err != nil {
		ln.Close()
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: err}
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10,
		ErrorLog: log.New(stderr, "agent: http: ", 0)}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	fmt.Fprintf(stderr, "agent: serving on %s\n", ln.Addr())
	select {
	case <-ctx.Done():
		fmt.Fprintf(stderr, "agent: %v: undoing every fault held\n", context.Cause(ctx))
	case err = <-served:
		fmt.Fprintf(stderr, "agent: %v: undoing every fault held\n", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	if cerr := a.Close(context.WithoutCancel(ctx)); cerr != nil {
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("agent: %w (left in its journal, undone at its next start)", cerr)}
	}
	fmt.Fprintln(stderr, "agent: nothing left; bye")
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return &runpkg.ExitError{Code: runpkg.ExitTool, Err: fmt.Errorf("agent: %w", err)}
	}
	return nil
}

// listenInPod refuses an address beyond loopback in the node's own network
// namespace (hostNetwork): the agent's port must be its pod's, reached
// through the API server, never one of the node's.
func listenInPod(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("agent: --listen %q is not host:port (valid: e.g. :%d)", addr, agent.Port)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	own, err := network.PidInode(os.Getpid())
	if err != nil {
		return nil // not Linux: FindPod refuses on its own
	}
	// the initial namespace has an inode below the dynamic ones
	// (0xF0000000); with hostPID, pid 1's is the node's
	pid1, err := network.PidInode(1)
	if own < 0xF0000000 || (err == nil && pid1 == own && os.Getpid() != 1) {
		return fmt.Errorf("agent: runs in the node's network namespace (hostNetwork?), where --listen %s would open the port on the node's addresses; run it in a pod without hostNetwork (it is reached through the API server's pod proxy), or on loopback", addr)
	}
	return nil
}
