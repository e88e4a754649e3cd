package kube

import (
	"path/filepath"
	"strings"
	"sync"

	"github.com/chaos-sre/chaos/faults/targets"
)

var (
	serversMu sync.Mutex
	servers   = map[targets.Cluster]string{}
)

// Server is the API server a cluster's kubeconfig and context name: the
// cluster's identity in lease keys and journal entries.
func Server(c targets.Cluster) (string, error) {
	serversMu.Lock()
	defer serversMu.Unlock()
	if s, ok := servers[c]; ok {
		return s, nil
	}
	cfg, err := Config(c)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(cfg.Host, "/")
	servers[c] = s
	return s, nil
}

// Absolute is c with its kubeconfig made absolute, so a recover started
// from another folder reads the same file.
func Absolute(c targets.Cluster) targets.Cluster {
	if c.Kubeconfig != "" {
		if abs, err := filepath.Abs(c.Kubeconfig); err == nil {
			c.Kubeconfig = abs
		}
	}
	return c
}
