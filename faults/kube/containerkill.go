package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/targets"
	kclient "github.com/chaos-sre/chaos/internal/kube"
	"github.com/chaos-sre/chaos/internal/units"
)

// ContainerKill signals one container of the target pods (a crash of one
// process, the pod and its other containers left alone) the only way the
// API allows with nothing installed: it runs `kill -s SIGNAL 1` in the
// container through pods/exec, and waits for the kubelet to restart it.
//
// What that needs, said before anything is injected (preflight): a kill
// command in the image (scratch and distroless images have none), a real
// kubelet (kwok's fake nodes run no exec), a restart policy other than
// Never, and no shared process namespace (pid 1 would be the pod's pause
// process). And since the signal comes from inside the container, the
// kernel delivers to its pid 1 only signals it handles: never KILL, and
// TERM or QUIT only to a process that has a handler (Go programs, most
// servers). A container that does not stop within wait is an error. For
// a hard crash of the whole pod, use pod-delete with force.
type ContainerKill struct {
	Container string         `yaml:"container,omitempty" json:"container,omitempty" jsonschema:"description=the container to signal; default the pod's first"`
	Signal    string         `yaml:"signal,omitempty" json:"signal,omitempty" jsonschema:"enum=TERM,enum=QUIT,enum=INT,enum=HUP,enum=USR1,enum=USR2,default=TERM"`
	Wait      units.Duration `yaml:"wait,omitempty" json:"wait,omitempty" jsonschema:"description=how long the container has to stop and be restarted before the fault fails,default=30s"`

	changes faults.Changes
}

var _ faults.Fault = (*ContainerKill)(nil)

var execSignals = []string{"TERM", "QUIT", "INT", "HUP", "USR1", "USR2"}

func (k *ContainerKill) signal() string { return strings.TrimPrefix(strings.ToUpper(k.Signal), "SIG") }

// Validate implements Fault.
func (k *ContainerKill) Validate() []units.Problem {
	var ps []units.Problem
	switch s := k.signal(); {
	case s == "KILL" || s == "STOP":
		ps = append(ps, units.Problemf("signal", "%s cannot reach a container's main process from inside it (the kernel spares pid 1 of its namespace): valid: TERM, QUIT, INT, HUP, USR1, USR2; for a hard crash use pod-delete with force: true", s))
	case !slices.Contains(execSignals, s):
		ps = append(ps, units.Problemf("signal", "unknown signal %q (valid: TERM, QUIT, INT, HUP, USR1, USR2)", k.Signal))
	}
	if k.Wait < 0 {
		ps = append(ps, units.Problemf("wait", "must not be negative (e.g. 30s)"))
	}
	return ps
}

// LeaseKeys implements faults.Leaser: the target pod.
func (k *ContainerKill) LeaseKeys(_ context.Context, t targets.Target) ([]string, error) {
	return leaseKeys(podsOf("container-kill", []targets.Target{t}))
}

// victim is one container to signal.
type victim struct {
	ref       Ref
	container string
}

// Preflight implements faults.Preflighter: each pod can have its container
// signalled and restarted, and the container has a kill command.
func (k *ContainerKill) Preflight(ctx context.Context, ts []targets.Target) error {
	vs, err := k.victims(ts)
	if err != nil {
		return err
	}
	return kclient.Each(ctx, vs, func(ctx context.Context, v victim) error {
		cs, err := Client(v.ref.Cluster)
		if err != nil {
			return err
		}
		if _, err := k.restartsOf(ctx, cs, v); err != nil {
			return err
		}
		_, err = execIn(ctx, v.ref.Cluster, v.ref.Namespace, v.ref.Name, v.container, "kill", "-l")
		return k.execErr(v, err)
	})
}

func (k *ContainerKill) victims(ts []targets.Target) ([]victim, error) {
	refs, err := podsOf("container-kill", ts)
	if err != nil {
		return nil, err
	}
	vs := make([]victim, len(refs))
	for i, t := range ts {
		c := k.Container
		if c == "" && len(t.Kube.Containers) > 0 {
			c = t.Kube.Containers[0]
		}
		if c == "" {
			return nil, fmt.Errorf("container-kill: pod %s: name the container (params.container)", refs[i])
		}
		if len(t.Kube.Containers) > 0 && !slices.Contains(t.Kube.Containers, c) {
			return nil, fmt.Errorf("container-kill: pod %s has no container %q (valid: %s)", refs[i], c, strings.Join(t.Kube.Containers, ", "))
		}
		vs[i] = victim{refs[i], c}
	}
	return vs, nil
}

// restartsOf reads the container's restart count, and refuses a pod whose
// container would not come back or whose pid 1 is not the container's.
func (k *ContainerKill) restartsOf(ctx context.Context, cs kubernetes.Interface, v victim) (int32, error) {
	pod, err := cs.CoreV1().Pods(v.ref.Namespace).Get(ctx, v.ref.Name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("container-kill: read %s: %w", v.ref, err)
	}
	if pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
		return 0, fmt.Errorf("container-kill: %s has restartPolicy Never: its container would not come back: %w", v.ref, targets.ErrRefused)
	}
	if pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace {
		return 0, fmt.Errorf("container-kill: %s shares one process namespace among its containers: pid 1 is its pause process, not container %s's: %w", v.ref, v.container, targets.ErrRefused)
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name == v.container {
			return s.RestartCount, nil
		}
	}
	return 0, fmt.Errorf("container-kill: %s has no running container %q", v.ref, v.container)
}

// execErr says what a failed exec means for this kind.
func (k *ContainerKill) execErr(v victim, err error) error {
	var ee *ExecError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.notFound():
		return fmt.Errorf("container-kill: container %s of %s has no kill command (a scratch or distroless image?): container-kill runs `kill` in the container through pods/exec; add one to the image, or use pod-delete: %w", v.container, v.ref, err)
	}
	return fmt.Errorf("container-kill: cannot run kill in container %s of %s through pods/exec (a node with no kubelet, such as kwok's, cannot exec; nor can a user without pods/exec rights): %w", v.container, v.ref, err)
}

// Inject implements Fault.
func (k *ContainerKill) Inject(ctx context.Context, env faults.Env) error {
	vs, err := k.victims(env.Targets)
	if err != nil {
		return err
	}
	wait := k.Wait.D()
	if wait == 0 {
		wait = 30 * time.Second
	}
	noop := func(context.Context) error { return nil }
	return kclient.Each(ctx, vs, func(ctx context.Context, v victim) error {
		cs, err := Client(v.ref.Cluster)
		if err != nil {
			return err
		}
		before, err := k.restartsOf(ctx, cs, v)
		if err != nil {
			return err
		}
		ch := faults.Change{Target: v.ref.String() + " " + v.container, Key: v.ref.LeaseKey(), Action: "kube-gone", Data: v.ref, Undo: noop}
		if err := k.changes.Apply(env, ch, func() error {
			_, err := execIn(ctx, v.ref.Cluster, v.ref.Namespace, v.ref.Name, v.container, "kill", "-s", k.signal(), "1")
			var ee *ExecError
			if errors.As(err, &ee) && ee.killed() {
				// PID 1 took the signal and exited before kill did, and the
				// container's teardown killed kill: the restart below says so
				return nil
			}
			return k.execErr(v, err)
		}); err != nil {
			return err
		}
		deadline := time.Now().Add(wait)
		for {
			n, err := k.restartsOf(ctx, cs, v)
			if err == nil && n > before {
				fmt.Fprintf(env.Log, "  SIG%s to container %s of %s: restarted (restart %d)\n", k.signal(), v.container, v.ref, n)
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("container-kill: container %s of %s was not restarted within %s of SIG%s: its main process ignores the signal (a container's pid 1 gets only the signals it handles); try TERM or QUIT, or pod-delete", v.container, v.ref, wait, k.signal())
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
		}
	})
}

// Rollback implements Fault: the kubelet restarted the container.
func (k *ContainerKill) Rollback(ctx context.Context) error { return k.changes.Rollback(ctx) }
