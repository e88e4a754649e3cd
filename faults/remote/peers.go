package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
)

// peerFields are the parameters that name peers, in the kinds' JSON: the
// scope of every net-* kind, partition and conn-limit (peers), and dns's
// servers. The run resolves them to addresses before the agent sees them.
var peerFields = []string{"peers", "servers"}

// PeerForms says how a peer of a pod is written, for messages.
const PeerForms = "an IPv4 address or CIDR; service/NAME (its cluster IP and every pod it selects), deployment/NAME, statefulset/NAME or pod/NAME (their pod IPs), each also KIND/NAMESPACE/NAME; a bare NAME is a Service of the target's namespace, else a host name this machine resolves"

// paramsFor is a kind's parameters as JSON for the agent, with its peers
// resolved from namespace ns of the cluster cs reaches.
func paramsFor(ctx context.Context, cs kubernetes.Interface, ns string, f faults.Fault) (json.RawMessage, error) {
	b, err := json.Marshal(f)
	if err != nil {
		return nil, fmt.Errorf("encode the parameters: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode the parameters: %s is not an object", b)
	}
	for _, field := range peerFields {
		raw, ok := m[field]
		if !ok {
			continue
		}
		var peers []string
		if err := json.Unmarshal(raw, &peers); err != nil || len(peers) == 0 {
			continue
		}
		addrs, err := ResolvePeers(ctx, cs, ns, peers)
		if err != nil {
			return nil, fmt.Errorf("params.%s: %w", field, err)
		}
		slices.Sort(addrs) // the same addresses are the same parameters (follow.go compares them)
		m[field], _ = json.Marshal(addrs)
	}
	return json.Marshal(m)
}

// ResolvePeers turns the peers of a pod of namespace ns into IPv4
// addresses and CIDRs (see PeerForms), each once, in order, as they are
// now (a fault that is on follows them: follow.go). A peer written wrong
// matches targets.ErrRefused (an invalid experiment); one that names
// nothing that exists now does not.
func ResolvePeers(ctx context.Context, cs kubernetes.Interface, ns string, peers []string) ([]string, error) {
	var out []string
	add := func(as ...string) {
		for _, a := range as {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	for _, p := range peers {
		p = strings.TrimSpace(p)
		if pf, err := netip.ParsePrefix(p); err == nil {
			add(pf.Masked().String())
			continue
		}
		if a, err := netip.ParseAddr(p); err == nil {
			add(a.String())
			continue
		}
		kind, pns, name, err := parsePeer(p, ns)
		if err != nil {
			return nil, err
		}
		var as []string
		switch kind {
		case "":
			as, err = serviceOrHost(ctx, cs, pns, name)
		case "service":
			as, err = serviceAddrs(ctx, cs, pns, name)
			if apierrors.IsNotFound(err) {
				err = fmt.Errorf("no Service %q in namespace %s", name, pns)
			}
		case "pod":
			as, err = podAddrs(ctx, cs, pns, name)
		default:
			as, err = workloadAddrs(ctx, cs, kind, pns, name)
		}
		if err != nil {
			return nil, fmt.Errorf("peer %q: %w", p, err)
		}
		if len(as) == 0 {
			return nil, fmt.Errorf("peer %q has no IPv4 address now (no cluster IP, no running pod with an IP)", p)
		}
		add(as...)
	}
	return out, nil
}

// peerKinds are the KIND/ prefixes a peer may have, by their short names too.
var peerKinds = map[string]string{
	"service": "service", "svc": "service", "services": "service",
	"deployment": "deployment", "deploy": "deployment", "deployments": "deployment",
	"statefulset": "statefulset", "sts": "statefulset", "statefulsets": "statefulset",
	"pod": "pod", "po": "pod", "pods": "pod",
}

// parsePeer reads [KIND/[NAMESPACE/]]NAME; kind "" is a bare name.
func parsePeer(p, ns string) (kind, namespace, name string, err error) {
	parts := strings.Split(p, "/")
	bad := func(why string) error {
		return targets.Refusef("peer %q %s (valid: %s)", p, why, PeerForms)
	}
	switch len(parts) {
	case 1:
		return "", ns, p, nil
	case 2, 3:
		k, ok := peerKinds[strings.ToLower(parts[0])]
		if !ok {
			return "", "", "", bad("is neither an address nor KIND/NAME with a KIND of service, deployment, statefulset or pod")
		}
		if len(parts) == 3 {
			ns = parts[1]
		}
		name = parts[len(parts)-1]
		if name == "" || ns == "" {
			return "", "", "", bad("names no object")
		}
		return k, ns, name, nil
	}
	return "", "", "", bad("has too many /")
}

// serviceOrHost resolves a bare name: the Service of that name in ns, else
// a host name through this machine's resolver.
func serviceOrHost(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]string, error) {
	as, err := serviceAddrs(ctx, cs, ns, name)
	if !apierrors.IsNotFound(err) {
		return as, err
	}
	lctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	ips, lerr := net.DefaultResolver.LookupNetIP(lctx, "ip4", name)
	if lerr != nil || len(ips) == 0 {
		return nil, fmt.Errorf("no Service %q in namespace %s, and this machine's DNS does not resolve it (valid: %s)", name, ns, PeerForms)
	}
	for _, ip := range ips {
		as = append(as, ip.Unmap().String())
	}
	return as, nil
}

// serviceAddrs is a Service's cluster IP (what a pod's packets to it carry
// in the pod's namespace, before the node translates it) and the address
// of every pod behind it (what packets from those pods carry): the pods its
// selector picks, or its EndpointSlices' addresses when it has no selector.
func serviceAddrs(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]string, error) {
	svc, err := cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, err
		}
		return nil, fmt.Errorf("read service %s/%s: %w", ns, name, err)
	}
	var out []string
	for _, ip := range append([]string{svc.Spec.ClusterIP}, svc.Spec.ClusterIPs...) {
		if a, err := netip.ParseAddr(ip); err == nil && a.Is4() && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	if len(svc.Spec.Selector) > 0 {
		pods, err := podsBy(ctx, cs, ns, labels.SelectorFromSet(svc.Spec.Selector).String())
		return append(out, pods...), err
	}
	l, err := cs.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + name})
	if err != nil {
		return nil, fmt.Errorf("list the endpoints of service %s/%s: %w", ns, name, err)
	}
	for _, s := range l.Items {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, e := range s.Endpoints {
			out = append(out, e.Addresses...)
		}
	}
	return out, nil
}

// workloadAddrs is the address of every live pod of a Deployment or
// StatefulSet (by its selector).
func workloadAddrs(ctx context.Context, cs kubernetes.Interface, kind, ns, name string) ([]string, error) {
	var sel *metav1.LabelSelector
	switch kind {
	case "deployment":
		d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, readErr(err, kind, ns, name)
		}
		sel = d.Spec.Selector
	case "statefulset":
		s, err := cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return nil, readErr(err, kind, ns, name)
		}
		sel = s.Spec.Selector
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("%s %s/%s: its selector: %w", kind, ns, name, err)
	}
	return podsBy(ctx, cs, ns, s.String())
}

func podAddrs(ctx context.Context, cs kubernetes.Interface, ns, name string) ([]string, error) {
	p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, readErr(err, "pod", ns, name)
	}
	return ipsOf(*p), nil
}

func readErr(err error, kind, ns, name string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("no %s %q in namespace %s", kind, name, ns)
	}
	return fmt.Errorf("read %s %s/%s: %w", kind, ns, name, err)
}

// podsBy is the address of every live pod of ns a label selector matches.
func podsBy(ctx context.Context, cs kubernetes.Interface, ns, selector string) ([]string, error) {
	l, err := cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pods %s of namespace %s: %w", selector, ns, err)
	}
	var out []string
	for _, p := range l.Items {
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, ipsOf(p)...)
	}
	return out, nil
}

// ipsOf is a pod's IPv4 addresses.
func ipsOf(p corev1.Pod) []string {
	var out []string
	for _, ip := range append([]corev1.PodIP{{IP: p.Status.PodIP}}, p.Status.PodIPs...) {
		if a, err := netip.ParseAddr(ip.IP); err == nil && a.Is4() && !slices.Contains(out, ip.IP) {
			out = append(out, ip.IP)
		}
	}
	return out
}
