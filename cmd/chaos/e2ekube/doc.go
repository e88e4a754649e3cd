// Package e2ekube holds the end-to-end tests of chaos against a real
// Kubernetes: the project's test cluster (examples/kubernetes/cluster.sh up),
// found by kubetest.Kubeconfig. They deploy the example stack
// (examples/kubernetes/stack.sh) into a namespace of their own, run the
// built chaos binary against it as a user would, kill it mid-fault and
// recover, and delete what they made. Without a cluster they skip; with
// CHAOS_REQUIRE_DOCKER=1 they fail instead. Only its tests are here.
package e2ekube
