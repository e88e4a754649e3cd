package targets

// Cluster names a Kubernetes cluster the way kubectl does: a kubeconfig file
// ("" = $KUBECONFIG or ~/.kube/config) and a context in it ("" = its
// current context). A journal entry keeps it so `chaos recover` reaches the
// same cluster from the same machine; the annotations on the changed objects
// let a recover from another machine find them too.
type Cluster struct {
	Kubeconfig string `json:"kubeconfig,omitempty"`
	Context    string `json:"context,omitempty"`
}

// Kube is a resolved Kubernetes target: a pod (with the workload that owns
// it and the node it runs on), a workload with no pod left, or a node.
type Kube struct {
	Cluster   Cluster `json:"cluster"`
	Namespace string  `json:"namespace,omitempty"`
	// Pod and PodUID name the pod; "" for a workload or node target.
	Pod    string `json:"pod,omitempty"`
	PodUID string `json:"pod_uid,omitempty"`
	// OwnerKind ("Deployment", "StatefulSet") and Owner name the workload
	// the pod belongs to (through its ReplicaSet), "" when none.
	OwnerKind string `json:"owner_kind,omitempty"`
	Owner     string `json:"owner,omitempty"`
	// Node is the node the pod is scheduled on, or the node target itself.
	Node string `json:"node,omitempty"`
	// IP is the pod's IP, "" when it has none yet.
	IP string `json:"ip,omitempty"`
	// Containers are the pod's container names, in spec order.
	Containers []string `json:"containers,omitempty"`
}
