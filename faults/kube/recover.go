package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
)

// Found is a chaos mark found on an object of a cluster by Scan.
type Found struct {
	Ref  Ref
	Key  string // the annotation: Prefix + the fault's kind
	Mark Mark
	Err  error // the annotation is not a readable mark: reported, never acted on
}

// Scan reads the deployments and statefulsets of every namespace and the
// nodes of cluster c (pages of 500, three lists at once) and returns every
// chaos mark on them, ordered by object.
func Scan(ctx context.Context, c targets.Cluster) ([]Found, error) {
	s, err := kclient.Server(c)
	if err != nil {
		return nil, err
	}
	cs, err := Client(c)
	if err != nil {
		return nil, err
	}
	var (
		mu  sync.Mutex
		out []Found
	)
	err = kclient.Each(ctx, []string{deployments, statefulsets, nodes}, func(ctx context.Context, res string) error {
		return list(ctx, cs, res, func(meta metav1.ObjectMeta) {
			r := Ref{Cluster: c, Server: s, Resource: res, Namespace: meta.Namespace, Name: meta.Name, UID: string(meta.UID)}
			for k, v := range meta.Annotations {
				if !strings.HasPrefix(k, Prefix) {
					continue
				}
				f := Found{Ref: r, Key: k}
				ms, err := marks(map[string]string{k: v})
				f.Mark, f.Err = ms[k], err
				mu.Lock()
				out = append(out, f)
				mu.Unlock()
			}
		})
	})
	sort.Slice(out, func(a, b int) bool {
		if out[a].Ref.LeaseKey() != out[b].Ref.LeaseKey() {
			return out[a].Ref.LeaseKey() < out[b].Ref.LeaseKey()
		}
		return out[a].Key < out[b].Key
	})
	return out, err
}

// list calls f with the metadata of every object of resource, a page at a
// time.
func list(ctx context.Context, cs kubernetes.Interface, res string, f func(metav1.ObjectMeta)) error {
	opts := metav1.ListOptions{Limit: 500}
	for {
		var cont string
		switch res {
		case deployments:
			l, err := cs.AppsV1().Deployments("").List(ctx, opts)
			if err != nil {
				return fmt.Errorf("list deployments: %w", err)
			}
			for i := range l.Items {
				f(l.Items[i].ObjectMeta)
			}
			cont = l.Continue
		case statefulsets:
			l, err := cs.AppsV1().StatefulSets("").List(ctx, opts)
			if err != nil {
				return fmt.Errorf("list statefulsets: %w", err)
			}
			for i := range l.Items {
				f(l.Items[i].ObjectMeta)
			}
			cont = l.Continue
		case nodes:
			l, err := cs.CoreV1().Nodes().List(ctx, opts)
			if err != nil {
				return fmt.Errorf("list nodes: %w", err)
			}
			for i := range l.Items {
				f(l.Items[i].ObjectMeta)
			}
			cont = l.Continue
		}
		if cont == "" {
			return nil
		}
		opts.Continue = cont
	}
}

// Undo undoes the change a found mark stands for, as its run's own
// rollback would: the old value back if the object still holds the one the
// run set (else a ChangedError), and the mark removed.
func (f Found) Undo(ctx context.Context) error {
	if f.Err != nil {
		return f.Err
	}
	var s setting
	switch f.Mark.Kind {
	case "scale":
		s = replicasSetting(f.Mark.Kind)
	case "cordon", "node-drain":
		s = unschedulableSetting(f.Mark.Kind)
	default:
		return fmt.Errorf("%s: mark %s of kind %q is not one this chaos knows (written by a newer one?); nothing done", f.Ref, f.Key, f.Mark.Kind)
	}
	if f.Key != s.key() {
		return fmt.Errorf("%s: mark %s says kind %q; nothing done", f.Ref, f.Key, f.Mark.Kind)
	}
	cs, err := Client(f.Ref.Cluster)
	if err != nil {
		return err
	}
	return s.restore(ctx, cs, f.Ref, f.Mark.Run, f.Mark.Fault)
}

// String names the change a mark stands for: "scale on deployment shop/web
// by run R (fault F, host H, pid P, renewed 2m ago)".
func (f Found) String() string {
	return fmt.Sprintf("%s on %s by %s", f.Mark.Kind, f.Ref, f.Mark)
}

// Field is the field the change set: replicas, unschedulable.
func (f Found) Field() string {
	if f.Ref.Resource == nodes {
		return "unschedulable"
	}
	return "replicas"
}
