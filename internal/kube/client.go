// Package kube builds Kubernetes API clients the way kubectl finds its
// cluster (kubeconfig, context), with client-side rate limits that suit a
// fault injector: enough to act on hundreds of objects in a second, never a
// storm on the API server. It also holds what every fault family that acts
// on a cluster shares: the cluster's identity (Server, Absolute), bounded
// fan-out (Each) and background renewals (Ticker).
package kube

import (
	"fmt"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaos-sre/chaos/faults/targets"
)

// Client-side limits of every client this package builds: QPS and Burst for
// client-go's token bucket, and Concurrency for the number of requests a
// fault keeps in flight at once.
const (
	QPS         = 200
	Burst       = 400
	Concurrency = 16
)

var (
	mu      sync.Mutex
	clients = map[targets.Cluster]*kubernetes.Clientset{}
)

// Config is the REST config of cluster: its kubeconfig ("" = $KUBECONFIG or
// ~/.kube/config, as kubectl) and context ("" = the current one).
func Config(c targets.Cluster) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	cfg.QPS, cfg.Burst = QPS, Burst
	cfg.UserAgent = "chaos"
	return cfg, nil
}

// Namespace is the namespace the kubeconfig's context names, "default" when
// it names none (as kubectl).
func Namespace(c targets.Cluster) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules.ExplicitPath = c.Kubeconfig
	}
	ns, _, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: c.Context}).Namespace()
	if err != nil {
		return "", fmt.Errorf("kubernetes: %w", err)
	}
	return ns, nil
}

// Client returns the (shared) clientset of cluster c.
func Client(c targets.Cluster) (kubernetes.Interface, error) {
	mu.Lock()
	defer mu.Unlock()
	if cs, ok := clients[c]; ok {
		return cs, nil
	}
	cfg, err := Config(c)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	clients[c] = cs
	return cs, nil
}
