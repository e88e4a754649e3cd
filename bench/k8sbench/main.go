// Command k8sbench measures the Kubernetes faults at the scale of issue
// #17 on the test cluster (examples/kubernetes/cluster.sh up): kwok fake
// nodes hold the pods, Running with no kubelet and no image. It makes 50
// fake nodes and 100 deployments of 10 pods (1,000 pods), then times, with
// a real journal (fsynced) and the client-side limits of internal/kube:
//
//   - list + pick 10 % of the pods (100), then pod-delete them and roll back;
//   - scale the 100 deployments to 0 and roll back (each restored count
//     checked).
//
// Everything it made is deleted at the end (-keep leaves it).
//
//	go run ./bench/k8sbench [-kubeconfig F] [-nodes 50] [-deployments 100] [-replicas 10] [-share 10]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"text/tabwriter"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kube"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type bench struct {
	cs      kubernetes.Interface
	cluster targets.Cluster
	id      string // suffix of every name the bench makes
	ns      string
	nodes   []string
	log     io.Writer
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("k8sbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kc := fs.String("kubeconfig", defaultKubeconfig(), "the test cluster's kubeconfig")
	nNodes := fs.Int("nodes", 50, "kwok fake nodes to make")
	nDeps := fs.Int("deployments", 100, "deployments to make")
	replicas := fs.Int("replicas", 10, "pods per deployment")
	share := fs.Int("share", 10, "percent of the pods to delete")
	keep := fs.Bool("keep", false, "leave the nodes and namespace made")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	b := &bench{cluster: targets.Cluster{Kubeconfig: *kc}, id: fmt.Sprintf("%06x", rand.Uint32()&0xffffff), log: stderr}
	b.ns = "chaos-bench-" + b.id
	cs, err := kclient.Client(b.cluster)
	if err != nil {
		fmt.Fprintf(stderr, "k8sbench: %v\n", err)
		return 4
	}
	b.cs = cs
	ctx := context.Background()
	if !*keep {
		defer b.cleanup()
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "step\tobjects\ttime\tper object\n")
	row := func(step string, n int, d time.Duration) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", step, n, d.Round(time.Millisecond), (d / time.Duration(max(n, 1))).Round(time.Microsecond))
	}
	err = b.measure(ctx, *nNodes, *nDeps, int32(*replicas), *share, row)
	tw.Flush()
	if err != nil {
		fmt.Fprintf(stderr, "k8sbench: %v\n", err)
		return 4
	}
	fmt.Fprintf(stdout, "client limits: %d requests/s (burst %d), %d in flight\n", kclient.QPS, kclient.Burst, kclient.Concurrency)
	return 0
}

func defaultKubeconfig() string {
	if p := os.Getenv("CHAOS_KUBECONFIG"); p != "" {
		return p
	}
	return "/var/lib/chaos-k8s/kubeconfig"
}

func (b *bench) measure(ctx context.Context, nNodes, nDeps int, replicas int32, share int, row func(string, int, time.Duration)) error {
	start := time.Now()
	if _, err := b.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.ns}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if err := b.makeNodes(ctx, nNodes); err != nil {
		return err
	}
	row("make fake nodes (Ready)", nNodes, time.Since(start))
	start = time.Now()
	if err := b.makeDeployments(ctx, nDeps, replicas); err != nil {
		return err
	}
	want := nDeps * int(replicas)
	if err := b.waitPods(ctx, want, 5*time.Minute); err != nil {
		return err
	}
	row("make deployments, pods Running", want, time.Since(start))

	// pod-delete: list and pick a share, delete, roll back
	start = time.Now()
	pods, err := b.podTargets(ctx)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rng.Shuffle(len(pods), func(i, j int) { pods[i], pods[j] = pods[j], pods[i] })
	picked := pods[:len(pods)*share/100]
	row(fmt.Sprintf("list %d pods, pick %d%%", len(pods), share), len(picked), time.Since(start))
	env, closeJournal, err := b.env("pod-delete", picked)
	if err != nil {
		return err
	}
	del := &kube.PodDelete{Force: true}
	if err := timed(row, "pod-delete: preflight", len(picked), func() error { return del.Preflight(ctx, picked) }); err != nil {
		return err
	}
	if err := timed(row, "pod-delete: inject", len(picked), func() error { return del.Inject(ctx, env) }); err != nil {
		return err
	}
	if err := timed(row, "pod-delete: rollback", len(picked), func() error { return del.Rollback(ctx) }); err != nil {
		return err
	}
	if err := closeJournal(); err != nil {
		return err
	}

	// scale: every deployment to 0, then back
	var deps []targets.Target
	for i := range nDeps {
		name := fmt.Sprintf("app-%03d", i)
		deps = append(deps, targets.Target{Name: b.ns + "/" + name, Kube: &targets.Kube{Cluster: b.cluster, Namespace: b.ns, OwnerKind: "Deployment", Owner: name}})
	}
	env, closeJournal, err = b.env("scale", deps)
	if err != nil {
		return err
	}
	zero := int32(0)
	sc := &kube.Scale{Replicas: &zero}
	if err := timed(row, "scale: preflight", nDeps, func() error { return sc.Preflight(ctx, deps) }); err != nil {
		return err
	}
	if err := timed(row, "scale to 0: inject", nDeps, func() error { return sc.Inject(ctx, env) }); err != nil {
		return err
	}
	if err := timed(row, "scale: rollback", nDeps, func() error { return sc.Rollback(ctx) }); err != nil {
		return err
	}
	if err := closeJournal(); err != nil {
		return err
	}
	l, err := b.cs.AppsV1().Deployments(b.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for _, d := range l.Items {
		if *d.Spec.Replicas != replicas {
			return fmt.Errorf("deployment %s has %d replicas after rollback, not %d", d.Name, *d.Spec.Replicas, replicas)
		}
		if _, ok := d.Annotations[kube.Prefix+"scale"]; ok {
			return fmt.Errorf("deployment %s still carries its mark after rollback", d.Name)
		}
	}
	start = time.Now()
	if err := b.waitPods(ctx, want, 5*time.Minute); err != nil {
		return err
	}
	row("cluster back to every pod Running", want, time.Since(start))
	return nil
}

func timed(row func(string, int, time.Duration), step string, n int, f func() error) error {
	start := time.Now()
	if err := f(); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	row(step, n, time.Since(start))
	return nil
}

// env is an injection environment with a journal of its own (fsynced as a
// run's is), closed (and removed, nothing pending) by the func returned.
func (b *bench) env(fault string, ts []targets.Target) (faults.Env, func() error, error) {
	dir, err := os.MkdirTemp("", "k8sbench-")
	if err != nil {
		return faults.Env{}, nil, err
	}
	j, err := journal.Open(dir, journal.Meta{Run: "k8sbench-" + b.id + "-" + fault})
	if err != nil {
		return faults.Env{}, nil, err
	}
	done := func() error {
		n := len(j.Pending())
		err := j.Close()
		os.RemoveAll(dir)
		if n > 0 {
			return errors.Join(err, fmt.Errorf("%s: %d journal entries still pending after rollback", fault, n))
		}
		return err
	}
	return faults.Env{Fault: fault, Targets: ts, Journal: j, Rand: rand.New(rand.NewPCG(1, 1)), Log: io.Discard}, done, nil
}

func (b *bench) makeNodes(ctx context.Context, n int) error {
	res := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("64"), corev1.ResourceMemory: resource.MustParse("256Gi"), corev1.ResourcePods: resource.MustParse("200")}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("chaos-bench-%s-%02d", b.id, i)
	}
	b.nodes = names
	if err := parallel(names, func(name string) error {
		_, err := b.cs.CoreV1().Nodes().Create(ctx, &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: name,
				Annotations: map[string]string{"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
				Labels:      map[string]string{"type": "kwok", "kubernetes.io/hostname": name, "chaos-bench": b.id}},
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "kwok.x-k8s.io/node", Value: "fake", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Allocatable: res, Capacity: res},
		}, metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	return poll(ctx, 2*time.Minute, "fake nodes Ready", func() (bool, error) {
		l, err := b.cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "chaos-bench=" + b.id})
		if err != nil {
			return false, err
		}
		ready := 0
		for _, nd := range l.Items {
			for _, c := range nd.Status.Conditions {
				if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
					ready++
				}
			}
		}
		return ready == n, nil
	})
}

func (b *bench) makeDeployments(ctx context.Context, n int, replicas int32) error {
	zero := int64(0)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("app-%03d", i)
	}
	return parallel(names, func(name string) error {
		labels := map[string]string{"app": name}
		_, err := b.cs.AppsV1().Deployments(b.ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: b.ns},
			Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
					NodeSelector:                  map[string]string{"chaos-bench": b.id},
					Tolerations:                   []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers:                    []corev1.Container{{Name: "app", Image: "fake/app:1"}},
					TerminationGracePeriodSeconds: &zero,
				}}},
		}, metav1.CreateOptions{})
		return err
	})
}

// podTargets lists the Running pods of the namespace as the resolver makes
// targets of them.
func (b *bench) podTargets(ctx context.Context) ([]targets.Target, error) {
	l, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{FieldSelector: "status.phase=Running"})
	if err != nil {
		return nil, err
	}
	var out []targets.Target
	for _, p := range l.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		k := &targets.Kube{Cluster: b.cluster, Namespace: b.ns, Pod: p.Name, PodUID: string(p.UID), Node: p.Spec.NodeName, Containers: []string{"app"}}
		if c := metav1.GetControllerOf(&p); c != nil {
			k.OwnerKind, k.Owner = "Deployment", p.Labels["app"]
		}
		out = append(out, targets.Target{Name: b.ns + "/" + p.Name, Kube: k})
	}
	return out, nil
}

func (b *bench) waitPods(ctx context.Context, want int, limit time.Duration) error {
	return poll(ctx, limit, fmt.Sprintf("%d pods Running", want), func() (bool, error) {
		pods, err := b.podTargets(ctx)
		return len(pods) == want, err
	})
}

func (b *bench) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := b.cs.CoreV1().Namespaces().Delete(ctx, b.ns, metav1.DeleteOptions{}); err != nil {
		fmt.Fprintf(b.log, "k8sbench: delete namespace %s: %v\n", b.ns, err)
	}
	if err := parallel(b.nodes, func(name string) error {
		return b.cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
	}); err != nil {
		fmt.Fprintf(b.log, "k8sbench: delete nodes: %v\n", err)
	}
}

// parallel runs f on every name, kclient.Concurrency at once.
func parallel(names []string, f func(string) error) error {
	sem := make(chan struct{}, kclient.Concurrency)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, n := range names {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := f(n); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func poll(ctx context.Context, limit time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(limit)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", limit, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
