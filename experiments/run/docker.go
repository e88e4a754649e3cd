package run

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/targets"
	"github.com/chaos-sre/chaos/verify"
)

// usesDocker reports whether the experiment needs the Docker API: a compose
// stack, a container or labels target, a container fault or check.
func usesDocker(exp *experiments.Experiment) bool {
	if exp.Stack.Compose != "" {
		return true
	}
	for _, f := range exp.Faults {
		if f.Target.Container != "" || len(f.Target.Labels) > 0 || isContainerKind(f.Kind) {
			return true
		}
	}
	for _, c := range exp.Checks {
		if _, ok := c.Check.(verify.Resolving); ok {
			return true
		}
	}
	return false
}

func isContainerKind(kind string) bool {
	return kinds.All[kind].Target() == faults.TargetContainer
}

// useDocker puts a Docker resolver in front of static when the experiment
// needs Docker. Preflight: the compose file exists (else exit 2) and the
// daemon answers (else exit 4, one line). The compose stack's services
// with a published port become ${service} variables (stack.vars win).
func (w *world) useDocker(ctx context.Context, exp *experiments.Experiment, static *targets.Static) error {
	if !usesDocker(exp) {
		return nil
	}
	if exp.Stack.Local != nil {
		return invalid("stack.local starts local processes; container targets need a Docker stack (stack.compose)")
	}
	project := exp.Stack.Project
	if f := exp.Stack.Compose; f != "" {
		if !filepath.IsAbs(f) && exp.File != "" {
			f = filepath.Join(filepath.Dir(exp.File), f)
		}
		if _, err := os.Stat(f); err != nil {
			return invalid("stack.compose: %v", err)
		}
		if project == "" {
			project = targets.ComposeProject(f)
		}
	}
	if err := targets.PingDocker(ctx); err != nil {
		return toolErr(err)
	}
	c, err := targets.DockerClient()
	if err != nil {
		return toolErr(err)
	}
	w.resolver = &targets.Docker{API: c, Project: project, Fallback: static}
	if project == "" {
		w.started = append(w.started, "Docker at "+c.DaemonHost())
		return nil
	}
	w.started = append(w.started, fmt.Sprintf("compose project %s (Docker at %s)", project, c.DaemonHost()))
	if err := stackIsUp(ctx, c, project); err != nil {
		return err
	}
	ports, err := publishedPorts(ctx, c, project)
	if err != nil {
		return toolErr(fmt.Errorf("list the containers of compose project %s: %w", project, targets.DockerError(err)))
	}
	for service, url := range ports {
		if _, ok := w.vars[service]; !ok {
			w.vars[service] = url
		}
	}
	return nil
}

// publishedPorts maps each service of a compose project that publishes a
// TCP port to http://HOST:PORT (the lowest container port, the first
// replica by name).
func publishedPorts(ctx context.Context, api targets.Lister, project string) (map[string]string, error) {
	cs, err := api.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", targets.LabelProject+"="+project))})
	if err != nil {
		return nil, err
	}
	sort.Slice(cs, func(a, b int) bool { return fmt.Sprint(cs[a].Names) < fmt.Sprint(cs[b].Names) })
	out := map[string]string{}
	for _, c := range cs {
		service := c.Labels[targets.LabelService]
		if _, done := out[service]; done || service == "" {
			continue
		}
		var best *container.Port
		for i, p := range c.Ports {
			if p.PublicPort != 0 && p.Type == "tcp" && (best == nil || p.PrivatePort < best.PrivatePort) {
				best = &c.Ports[i]
			}
		}
		if best == nil {
			continue
		}
		host := best.IP
		if ip := net.ParseIP(host); host == "" || ip == nil || ip.IsUnspecified() {
			host = "127.0.0.1"
		}
		out[service] = "http://" + net.JoinHostPort(host, strconv.Itoa(int(best.PublicPort)))
	}
	return out, nil
}

// containerTargetsOnly says why a container fault cannot hit targets that
// are not containers ("" when they all are).
func containerTargetsOnly(kind string, ts []targets.Target) string {
	if !isContainerKind(kind) {
		return ""
	}
	for _, t := range ts {
		if t.Container == "" {
			return fmt.Sprintf("kind %s needs container targets, and %s is not one (set stack.compose, or target container: or labels:)", kind, t.Name)
		}
	}
	return ""
}

// stackIsUp says, before any ${variable} of the stack is looked for, when
// the compose project has no running container: the stack is down or runs
// under another project name (exit 4, with the projects that do run).
func stackIsUp(ctx context.Context, api targets.Lister, project string) error {
	cs, err := api.ContainerList(ctx, container.ListOptions{All: true})
	if err != nil {
		return toolErr(fmt.Errorf("list containers: %w", targets.DockerError(err)))
	}
	running, stopped := 0, 0
	others := map[string]bool{}
	for _, c := range cs {
		p := c.Labels[targets.LabelProject]
		switch {
		case p == project && c.State == "running":
			running++
		case p == project:
			stopped++
		case p != "" && c.State == "running":
			others[p] = true
		}
	}
	if running > 0 {
		return nil
	}
	hint := "no compose project is running"
	if len(others) > 0 {
		names := make([]string, 0, len(others))
		for p := range others {
			names = append(names, p)
		}
		sort.Strings(names)
		hint = "compose projects running: " + strings.Join(names, ", ")
	}
	what := "no container of compose project %q"
	if stopped > 0 {
		what = fmt.Sprintf("%d container(s) of compose project %%q, none running", stopped)
	}
	return toolErr(fmt.Errorf(what+": is the stack up? (bring it up, or name its project with COMPOSE_PROJECT_NAME or stack.project; %s)", project, hint))
}
