package run

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/internal/kube"
)

// useKube puts a Kubernetes resolver in front of static for a
// stack.kubernetes. Preflight: a kubeconfig the experiment names exists and
// has the context it names (else exit 2); the API answers and the
// namespace exists (else exit 4, one line). Every Service of the namespace
// with a cluster IP becomes ${service} (its first port) and
// ${service.PORT-NAME} (each named port) — stack.vars and --var win.
func (w *world) useKube(ctx context.Context, exp *experiments.Experiment, static *targets.Static) error {
	ks := exp.Stack.Kubernetes
	cluster := targets.Cluster{Kubeconfig: kubeconfigPath(ks.Kubeconfig, exp.File), Context: ks.Context}
	if cluster.Kubeconfig != "" {
		if _, err := os.Stat(cluster.Kubeconfig); err != nil {
			return invalid("stack.kubernetes.kubeconfig: %v (valid: a kubeconfig file, relative to the experiment, or leave it out for $KUBECONFIG or ~/.kube/config)", err)
		}
	}
	ctxName, err := kubeContext(cluster)
	if err != nil {
		return err
	}
	cfg, err := kube.Config(cluster)
	if err != nil {
		return toolErr(err)
	}
	api, err := kube.Client(cluster)
	if err != nil {
		return toolErr(err)
	}
	where := fmt.Sprintf("Kubernetes API at %s (context %s)", cfg.Host, ctxName)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := api.Discovery().RESTClient().Get().AbsPath("/version").Do(pctx).Error(); err != nil {
		return toolErr(fmt.Errorf("%s does not answer: %w (is the cluster up? stack.kubernetes.kubeconfig and context say which one)", where, err))
	}
	ns := ks.Namespace
	if ns == "" {
		if ns, err = kube.Namespace(cluster); err != nil {
			return toolErr(err)
		}
	}
	if _, err := api.CoreV1().Namespaces().Get(pctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return toolErr(fmt.Errorf("namespace %q does not exist at the %s: is the stack deployed? (set stack.kubernetes.namespace to where it runs)", ns, where))
	}
	w.kube = &targets.Kubernetes{API: api, Cluster: cluster, Namespace: ns, Fallback: static}
	w.resolver = w.kube
	w.started = append(w.started, fmt.Sprintf("Kubernetes cluster %s at %s, namespace %s", ctxName, cfg.Host, ns))
	vars, err := serviceVars(pctx, api, ns)
	if err != nil {
		return toolErr(fmt.Errorf("list the services of namespace %s at the %s: %w", ns, where, err))
	}
	for name, url := range vars {
		if _, ok := w.vars[name]; !ok {
			w.vars[name] = url
		}
	}
	return nil
}

// kubeconfigPath is stack.kubernetes.kubeconfig relative to the experiment
// (~/ is the home folder), absolute; "" stays "" ($KUBECONFIG, ~/.kube/config).
func kubeconfigPath(p, expFile string) string {
	if p == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) && expFile != "" {
		p = filepath.Join(filepath.Dir(expFile), p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}

// kubeContext is the name of the context the run uses: the one the
// experiment names (which must exist: else exit 2), the current one, or
// "in-cluster" in a pod with no kubeconfig.
func kubeContext(c targets.Cluster) (string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = c.Kubeconfig
	raw, err := rules.Load()
	if err != nil {
		return "", toolErr(fmt.Errorf("kubernetes: read the kubeconfig: %w", err))
	}
	names := slices.Sorted(maps.Keys(raw.Contexts))
	file := cmp.Or(c.Kubeconfig, "the kubeconfig ($KUBECONFIG or ~/.kube/config)")
	switch {
	case c.Context != "" && raw.Contexts[c.Context] == nil:
		return "", invalid("stack.kubernetes.context: no context %q in %s (valid: %s)", c.Context, file, cmp.Or(strings.Join(names, ", "), "none: it has no contexts"))
	case c.Context != "":
		return c.Context, nil
	case len(names) == 0 && c.Kubeconfig == "" && inCluster():
		// in a pod with no kubeconfig (a game-day CronJob): its
		// ServiceAccount, as kubectl and client-go do
		return "in-cluster", nil
	case len(names) == 0:
		return "", toolErr(fmt.Errorf("kubernetes: %s has no contexts (set KUBECONFIG or stack.kubernetes.kubeconfig to a cluster's kubeconfig)", file))
	case raw.CurrentContext == "":
		return "", invalid("stack.kubernetes.context: %s has no current context (valid: one of %s)", file, strings.Join(names, ", "))
	}
	return raw.CurrentContext, nil
}

// inCluster reports whether this process runs in a pod whose
// ServiceAccount reaches the API (KUBERNETES_SERVICE_HOST and a token):
// client-go then uses that when no kubeconfig names a cluster.
func inCluster() bool {
	_, err := rest.InClusterConfig()
	return err == nil
}

// serviceVars maps each Service of ns with a cluster IP to
// http://CLUSTER-IP:PORT (its first port), and NAME.PORT-NAME to each of
// its named ports, as compose stacks map services to published ports.
func serviceVars(ctx context.Context, api kubernetes.Interface, ns string) (map[string]string, error) {
	l, err := api.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range l.Items {
		ip := s.Spec.ClusterIP
		if ip == "" || ip == corev1.ClusterIPNone || len(s.Spec.Ports) == 0 {
			continue
		}
		url := func(p corev1.ServicePort) string {
			return "http://" + net.JoinHostPort(ip, strconv.Itoa(int(p.Port)))
		}
		out[s.Name] = url(s.Spec.Ports[0])
		for _, p := range s.Spec.Ports {
			if p.Name != "" {
				out[s.Name+"."+p.Name] = url(p)
			}
		}
	}
	return out, nil
}
