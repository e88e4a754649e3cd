// Package kubetest finds the project's test cluster (started by
// examples/kubernetes/cluster.sh up) for tests that need a real Kubernetes.
package kubetest

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube"
)

// DefaultKubeconfig is where cluster.sh writes the test cluster's kubeconfig
// when CHAOS_K8S_DIR is not set.
const DefaultKubeconfig = "/var/lib/chaos-k8s/kubeconfig"

// Kubeconfig returns the test cluster's kubeconfig ($CHAOS_KUBECONFIG, else
// DefaultKubeconfig) once its API answers. Without a cluster the test
// skips, or fails when CHAOS_REQUIRE_DOCKER is set (CI starts the cluster).
func Kubeconfig(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CHAOS_KUBECONFIG")
	if path == "" {
		if d := os.Getenv("CHAOS_K8S_DIR"); d != "" {
			path = d + "/kubeconfig"
		} else {
			path = DefaultKubeconfig
		}
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CHAOS_REQUIRE_DOCKER") != "" {
			t.Fatalf("test cluster required (CHAOS_REQUIRE_DOCKER is set): "+format+"; start it with examples/kubernetes/cluster.sh up", args...)
		}
		t.Skipf("no test cluster: "+format+"; start it with examples/kubernetes/cluster.sh up", args...)
	}
	if _, err := os.Stat(path); err != nil {
		missing("%v", err)
	}
	cs, err := kube.Client(targets.Cluster{Kubeconfig: path})
	if err != nil {
		missing("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cs.(*kubernetes.Clientset).Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		missing("API of %s not ready: %v", path, err)
	}
	return path
}

// Client returns a clientset of the test cluster.
func Client(t testing.TB) kubernetes.Interface {
	t.Helper()
	cs, err := kube.Client(targets.Cluster{Kubeconfig: Kubeconfig(t)})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}
