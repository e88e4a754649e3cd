package kinds

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/container"
	"github.com/chaos-sre/chaos/faults/freezer"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/netns"
	"github.com/chaos-sre/chaos/faults/process"
	"github.com/chaos-sre/chaos/faults/remote/podproxy"
	"github.com/chaos-sre/chaos/faults/targets"
)

// TestUndoersNameEachActionOnce: no two families claim one journal action,
// so `chaos recover` cannot run the wrong undoer.
func TestUndoersNameEachActionOnce(t *testing.T) {
	n := 0
	for _, m := range []map[string]faults.UndoFunc{faults.Undoers, process.Undoers, container.Undoers, netns.Undoers, kube.Undoers, freezer.Undoers, podproxy.Undoers} {
		n += len(m)
	}
	assert.Len(t, Undoers, n)
}

func TestUndoOfAnUnknownActionSaysSo(t *testing.T) {
	err := Undo(context.Background(), journal.Entry{Run: "r", ID: 1, Action: "tc-filter"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown undo action "tc-filter"`)
}

// TestEveryKindIsComplete: a summary, one target type, a constructor.
func TestEveryKindIsComplete(t *testing.T) {
	for name, k := range All {
		assert.NotEmpty(t, k.Summary, name)
		assert.Len(t, k.Targets, 1, name)
		require.NotNil(t, k.New, name)
		assert.NotNil(t, k.New(), name)
	}
}

// TestLinuxOnlyKindsSaySo: the process and namespace kinds tell preflight
// whether this OS has their mechanism (Linux does); the others run anywhere.
func TestLinuxOnlyKindsSaySo(t *testing.T) {
	var linuxOnly []string
	for name, k := range All {
		if a, ok := k.New().(faults.Availabler); ok {
			linuxOnly = append(linuxOnly, name)
			if runtime.GOOS == "linux" {
				assert.NoError(t, a.Available(), name)
			} else {
				assert.Error(t, a.Available(), name)
			}
		}
	}
	assert.Subset(t, linuxOnly, []string{"process", "net-latency", "partition", "dns", "conn-limit", "freeze"})
}

// TestKubeKindsLeaseWhatTheyChange: a pod target leases the pod for
// pod-delete and container-kill, its workload for scale, its node for
// cordon and node-drain; all under the cluster's API server.
func TestKubeKindsLeaseWhatTheyChange(t *testing.T) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://10.9.8.7:6443/"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
	pod := targets.Target{Name: "shop/web-1", Kube: &targets.Kube{Cluster: targets.Cluster{Kubeconfig: kc}, Namespace: "shop", Pod: "web-1", OwnerKind: "Deployment", Owner: "web", Node: "n1"}}
	const server = "kube:https://10.9.8.7:6443"
	for kind, want := range map[string]string{
		"pod-delete":     server + "/namespaces/shop/pods/web-1",
		"container-kill": server + "/namespaces/shop/pods/web-1",
		"scale":          server + "/namespaces/shop/deployments/web",
		"cordon":         server + "/nodes/n1",
		"node-drain":     server + "/nodes/n1",
	} {
		keys, err := faults.LeaseKeys(context.Background(), All[kind], pod)
		require.NoError(t, err, kind)
		assert.Equal(t, []string{want}, keys, kind)
	}
	_, err := faults.LeaseKeys(context.Background(), All["scale"], targets.Target{Name: "p", Pid: 1})
	assert.ErrorContains(t, err, "needs a Kubernetes target")
}
