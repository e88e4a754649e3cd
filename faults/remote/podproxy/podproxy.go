// Package podproxy calls a service that runs one pod per node (the chaos
// agent's DaemonSet) through the API server's pod proxy: the caller needs
// only its kubeconfig, and the pods open no port beyond the cluster. A
// token read from a Secret goes in a header of every call.
//
// It also holds the offline undoer of a fault such a pod applied for a run
// (Undoers): the journal entry carries everything the undo needs (where the
// service runs, how to authenticate, the path to DELETE), so the undoer
// knows no protocol of its own and `chaos recover` can run it from any
// version of the entry's maker.
package podproxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// Client returns the clientset of a cluster; tests may swap it.
var Client = kclient.Client

// CallTimeout bounds one call when the caller's context has no sooner
// deadline.
const CallTimeout = 10 * time.Second

// Service says where a per-node service runs and how to call it: its pods
// (a label selector in a namespace), the port they listen on, and the
// Secret (name and key, in the same namespace) whose value goes in Header.
type Service struct {
	Namespace string `json:"namespace"`
	Selector  string `json:"selector"`
	Port      int    `json:"port"`
	Secret    string `json:"secret"`
	SecretKey string `json:"secret_key"`
	Header    string `json:"header"`
}

// Pod names a pod for good: a pod deleted and made again under its name
// (a StatefulSet's) has another UID.
type Pod struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid,omitempty"`
}

func (p Pod) String() string { return p.Namespace + "/" + p.Name }

// Agent is one pod of a Service, on a node of a cluster, ready to be
// called. Its methods are safe for concurrent use.
type Agent struct {
	Service Service
	Cluster targets.Cluster
	Server  string // the API server, the cluster's identity
	Node    string
	Pod     Pod

	cs    kubernetes.Interface
	token string
}

func (a *Agent) String() string {
	return fmt.Sprintf("the chaos agent on node %s (pod %s)", a.Node, a.Pod)
}

// NoAgentError says no pod of the service is ready on a node.
type NoAgentError struct {
	Node    string
	Service Service
	Why     string // what was found instead, "" for nothing
}

// InstallHint is how a cluster gets the chaos agent, for messages.
const InstallHint = "install it with examples/kubernetes/agent/install.sh (builds and loads the image, makes the token Secret once, applies the DaemonSet)"

func (e *NoAgentError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("no chaos agent ready on node %s (%s); it runs as a DaemonSet in namespace %s (pods %s): %s", e.Node, e.Why, e.Service.Namespace, e.Service.Selector, InstallHint)
	}
	return fmt.Sprintf("no chaos agent on node %s (no pod %s in namespace %s runs there): %s", e.Node, e.Service.Selector, e.Service.Namespace, InstallHint)
}

// connect is the clientset and API server of a cluster.
func connect(c targets.Cluster) (kubernetes.Interface, string, error) {
	s, err := kclient.Server(c)
	if err != nil {
		return nil, "", err
	}
	cs, err := Client(c)
	return cs, s, err
}

// OnNode finds the pod of the service on node that is Running and Ready
// (a NoAgentError when there is none) and reads the token it wants. A
// Tokens shared by the calls of a run reads each Secret once.
func (s Service) OnNode(ctx context.Context, c targets.Cluster, node string, tokens *Tokens) (*Agent, error) {
	c = kclient.Absolute(c)
	cs, server, err := connect(c)
	if err != nil {
		return nil, err
	}
	l, err := cs.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.Selector, FieldSelector: "spec.nodeName=" + node})
	if err != nil {
		return nil, fmt.Errorf("find the chaos agent on node %s: list pods %s of namespace %s: %w", node, s.Selector, s.Namespace, err)
	}
	var why []string
	for _, p := range l.Items {
		if w := notReady(p); w != "" {
			why = append(why, "pod "+p.Name+" "+w)
			continue
		}
		return s.agent(ctx, cs, c, server, p, tokens)
	}
	return nil, &NoAgentError{Node: node, Service: s, Why: strings.Join(why, "; ")}
}

// All is every pod of the service in the cluster that is Running and
// Ready, and what the others are doing (not ready: one line each).
func (s Service) All(ctx context.Context, c targets.Cluster, tokens *Tokens) ([]*Agent, []string, error) {
	c = kclient.Absolute(c)
	cs, server, err := connect(c)
	if err != nil {
		return nil, nil, err
	}
	l, err := cs.CoreV1().Pods(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.Selector})
	if err != nil {
		return nil, nil, fmt.Errorf("list the chaos agents (pods %s of namespace %s): %w", s.Selector, s.Namespace, err)
	}
	var (
		out     []*Agent
		skipped []string
	)
	for _, p := range l.Items {
		if w := notReady(p); w != "" {
			skipped = append(skipped, fmt.Sprintf("pod %s/%s on node %s %s", p.Namespace, p.Name, p.Spec.NodeName, w))
			continue
		}
		a, err := s.agent(ctx, cs, c, server, p, tokens)
		if err != nil {
			return out, skipped, err
		}
		out = append(out, a)
	}
	return out, skipped, nil
}

func (s Service) agent(ctx context.Context, cs kubernetes.Interface, c targets.Cluster, server string, p corev1.Pod, tokens *Tokens) (*Agent, error) {
	tok, err := tokens.get(ctx, cs, server, s)
	if err != nil {
		return nil, err
	}
	return &Agent{Service: s, Cluster: c, Server: server, Node: p.Spec.NodeName,
		Pod: Pod{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)}, cs: cs, token: tok}, nil
}

// notReady says why a pod cannot be called ("" when it can).
func notReady(p corev1.Pod) string {
	switch {
	case p.DeletionTimestamp != nil:
		return "is terminating"
	case p.Status.Phase != corev1.PodRunning:
		return "is " + string(p.Status.Phase)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == corev1.ConditionTrue {
				return ""
			}
			return "is not Ready (" + strings.TrimSpace(c.Reason+" "+c.Message) + ")"
		}
	}
	return "is not Ready"
}

// Tokens reads each service's token Secret once; the zero value is ready
// to use, and nil reads every time.
type Tokens struct {
	mu  sync.Mutex
	got map[string]string
}

func (t *Tokens) get(ctx context.Context, cs kubernetes.Interface, server string, s Service) (string, error) {
	key := server + "/" + s.Namespace + "/" + s.Secret + "/" + s.SecretKey
	if t != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if tok, ok := t.got[key]; ok {
			return tok, nil
		}
	}
	sec, err := cs.CoreV1().Secrets(s.Namespace).Get(ctx, s.Secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("the chaos agent's token: no Secret %s in namespace %s: %s", s.Secret, s.Namespace, InstallHint)
	case apierrors.IsForbidden(err):
		return "", fmt.Errorf("the chaos agent's token: reading Secret %s/%s is forbidden to this kubeconfig's user (it needs get on secrets there, and create on pods/proxy; examples/kubernetes/agent/ has a Role to bind): %w", s.Namespace, s.Secret, err)
	case err != nil:
		return "", fmt.Errorf("the chaos agent's token: read Secret %s/%s: %w", s.Namespace, s.Secret, err)
	}
	tok := strings.TrimSpace(string(sec.Data[s.SecretKey]))
	if tok == "" {
		return "", fmt.Errorf("the chaos agent's token: Secret %s/%s has no key %s (or it is empty)", s.Namespace, s.Secret, s.SecretKey)
	}
	if t != nil {
		if t.got == nil {
			t.got = map[string]string{}
		}
		t.got[key] = tok
	}
	return tok, nil
}

// AnswerError is a pod's own answer that is not 2xx, with its body.
type AnswerError struct {
	Agent  string // who answered, for messages
	Method string
	Path   string
	Status int
	Body   []byte
}

func (e *AnswerError) Error() string {
	return fmt.Sprintf("%s answered %s %s with %d: %s", e.Agent, e.Method, e.Path, e.Status, strings.TrimSpace(string(e.Body)))
}

// UnreachableError says a call got no answer from the pod: the API server
// refused it or could not reach the pod, or the API server did not answer.
type UnreachableError struct {
	Agent  string
	Method string
	Path   string
	Err    error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("%s %s to %s through the API server's pod proxy: %v", e.Method, e.Path, e.Agent, e.Err)
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Call sends method path (with in as its JSON body when not nil) to the
// agent through the API server's pod proxy and decodes a 2xx answer into
// out (when not nil). A pod's own answer of another status is an
// *AnswerError; no answer from the pod is an *UnreachableError.
func (a *Agent) Call(ctx context.Context, method, path string, in, out any) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, CallTimeout)
		defer cancel()
	}
	who := a.String()
	req := a.cs.CoreV1().RESTClient().Verb(method).
		AbsPath("/api/v1/namespaces", a.Pod.Namespace, "pods", a.Pod.Name+":"+strconv.Itoa(a.Service.Port), "proxy", path).
		SetHeader(a.Service.Header, a.token).
		SetHeader("Accept", "application/json").
		MaxRetries(0)
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, path, err)
		}
		req = req.SetHeader("Content-Type", "application/json").Body(b)
	}
	var code int
	body, err := req.Do(ctx).StatusCode(&code).Raw()
	switch {
	case code >= 200 && code < 300:
	case code == 0:
		return &UnreachableError{Agent: who, Method: method, Path: path, Err: err}
	case apiServerStatus(body) != "":
		return &UnreachableError{Agent: who, Method: method, Path: path, Err: fmt.Errorf("the API server answered %d: %s", code, apiServerStatus(body))}
	default:
		return &AnswerError{Agent: who, Method: method, Path: path, Status: code, Body: body}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%s: %s %s: unreadable answer %.200q: %w", who, method, path, body, err)
	}
	return nil
}

// apiServerStatus is the message of a body that is the API server's own
// Status (it could not reach the pod, or refused the caller), "" for a body
// the pod answered.
func apiServerStatus(body []byte) string {
	var st struct {
		Kind       string `json:"kind"`
		APIVersion string `json:"apiVersion"`
		Message    string `json:"message"`
		Reason     string `json:"reason"`
	}
	if json.Unmarshal(body, &st) != nil || st.Kind != "Status" || st.APIVersion != "v1" {
		return ""
	}
	if st.Message == "" {
		return "(" + st.Reason + ")"
	}
	return st.Message
}

// IsStatus says err is a pod's answer with status code.
func IsStatus(err error, code int) bool {
	var ae *AnswerError
	return errors.As(err, &ae) && ae.Status == code
}
