// Package e2eagent holds the end-to-end tests of the chaos agent and of
// game-days as a CronJob on a real Kubernetes: the project's test cluster
// (examples/kubernetes/cluster.sh up), found by kubetest.Kubeconfig. They
// install the agent from examples/kubernetes/agent (its image built from
// this checkout), deploy the example stack into namespaces of their own, run
// the bundled experiments through the agent against the full gateway (exit
// 0) and the crippled ones (exit 1), kill `chaos run` and the agent with
// SIGKILL mid-fault, delete a target pod mid-fault, and look at what is left
// from the node itself (nft and tc in the pod's network namespace through
// nsenter, the host's own rules, the agent's open namespaces), never through
// chaos. They need root on the node. Without a cluster they skip; with
// CHAOS_REQUIRE_DOCKER=1 they fail instead. Only its tests are here
// (Linux only).
package e2eagent
