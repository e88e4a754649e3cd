// Package agent is the node agent's protocol: `chaos agent` runs on every
// node of a Kubernetes cluster (a DaemonSet: hostPID, privileged) and
// applies the in-namespace fault kinds (net-*, partition, dns, conn-limit)
// and pause to pods of its node for a `chaos run` elsewhere, which reaches
// it through the API server's pod proxy. The run holds each fault by a
// lease it renews; an agent whose lease runs out, or that starts again,
// undoes what its own journal holds.
package agent

import "encoding/json"

// Port is the port the agent listens on in its pod (pod IP only; reached
// through the API server's pod proxy: /api/v1/namespaces/NS/pods/NAME:8475/proxy/...).
const Port = 8475

// TokenHeader carries the shared token (Secret SecretName, key SecretKey,
// in the agent's namespace). Not Authorization: the API server's proxy
// authenticates the caller with that one.
const TokenHeader = "X-Chaos-Agent-Token"

// Where the run finds the agents and their token.
const (
	Namespace  = "chaos-system"
	LabelKey   = "app.kubernetes.io/name"
	LabelValue = "chaos-agent"
	SecretName = "chaos-agent-token"
	SecretKey  = "token"
)

// Paths of the API (all JSON).
//
//	POST   /v1/faults            Request → Applied (200) or Error (4xx/5xx)
//	POST   /v1/faults/{id}/renew RenewRequest → Applied (200); 404 once the fault is gone (its lease ran out and it was undone)
//	DELETE /v1/faults/{id}       undo (200 also when unknown: idempotent) → Undone
//	GET    /v1/faults            → []Applied (what the agent holds now)
//	GET    /healthz              200 "ok"
const (
	PathFaults  = "/v1/faults"
	PathHealthz = "/healthz"
)

// Pod names the target pod on the agent's node.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Container names the container whose process (and so network
	// namespace and cgroup) is used; "" = the first running one.
	Container string `json:"container,omitempty"`
	// ContainerID is that container's runtime id, from the pod's
	// status.containerStatuses[].containerID, with or without its scheme
	// ("containerd://0123…"): the agent has no API access and tells a pod's
	// containers apart by the id in their cgroup path only. "" = the
	// container that started first, the pod's sandbox excluded.
	ContainerID string `json:"container_id,omitempty"`
}

// Request asks the agent to apply one fault to one pod.
type Request struct {
	// ID is chosen by the run and unique per run, fault and pod
	// (e.g. RUN#3/ns/pod); applying an ID the agent already holds is an
	// error unless Kind, Params and Pod are the same (a retried request).
	ID  string `json:"id"`
	Run string `json:"run"`
	// Fault is the experiment's name for the fault, for logs.
	Fault string `json:"fault"`
	// Kind is a registry kind name (net-latency, net-loss, partition, dns,
	// conn-limit, pause …) and Params its parameters as JSON (the kind's
	// json tags), with every peer already resolved to addresses by the run.
	Kind   string          `json:"kind"`
	Params json.RawMessage `json:"params"`
	Pod    Pod             `json:"pod"`
	// Lease is how long the fault stays without a renew, in milliseconds;
	// For is how long the fault is meant to stay (the agent undoes it at
	// For + Lease at the latest even if renewed: a bound on a stuck run).
	LeaseMillis int64 `json:"lease_ms"`
	ForMillis   int64 `json:"for_ms"`
}

// RenewRequest extends a fault's lease.
type RenewRequest struct {
	LeaseMillis int64 `json:"lease_ms"`
}

// Applied is a fault the agent holds.
type Applied struct {
	ID        string `json:"id"`
	Run       string `json:"run"`
	Kind      string `json:"kind"`
	Pod       Pod    `json:"pod"`
	Node      string `json:"node"`
	Mechanism string `json:"mechanism,omitempty"`
	// Expires is when the lease runs out (RFC 3339, the agent's clock).
	Expires string `json:"expires"`
}

// Undone answers a DELETE.
type Undone struct {
	ID    string `json:"id"`
	Known bool   `json:"known"`
}

// Error is the body of every answer that is not 2xx.
type Error struct {
	Error string `json:"error"`
	// Invalid is set when the request itself is wrong (bad kind, params,
	// pod not on this node): the experiment is invalid, not the tool broken.
	Invalid bool `json:"invalid,omitempty"`
}
