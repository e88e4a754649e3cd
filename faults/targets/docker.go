package targets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Compose labels: docker-compose (v1 and v2) puts them on every container it
// creates, so a running stack is found without reading its compose file.
const (
	LabelProject = "com.docker.compose.project"
	LabelService = "com.docker.compose.service"
	LabelNumber  = "com.docker.compose.container-number"
)

// Lister is the part of the Docker Engine API the resolver needs; the Docker
// client implements it and tests fake it.
type Lister interface {
	ContainerList(ctx context.Context, o container.ListOptions) ([]container.Summary, error)
}

// Docker resolves service (compose), container and labels specs to running
// containers through the Docker Engine API. Other specs (process, pid, url)
// go to Fallback.
type Docker struct {
	API Lister
	// Project is the compose project service specs look in, unless the spec
	// names its own.
	Project  string
	Fallback Resolver
}

var _ Resolver = (*Docker)(nil)

// Resolve implements Resolver: matches are running containers (paused ones
// too), sorted by name so a seeded pick repeats. A container or labels
// target that matches more than one container needs an explicit pick; a
// service keeps "all" (its replicas are meant to be hit whole).
func (d *Docker) Resolve(ctx context.Context, spec Spec) ([]Target, error) {
	return d.resolve(ctx, spec, false)
}

// ResolveAll is Resolve with stopped containers too (for checks that judge
// whether a container runs), and every match without a pick: a check
// judges them all.
func (d *Docker) ResolveAll(ctx context.Context, spec Spec) ([]Target, error) {
	return d.resolve(ctx, spec, true)
}

func (d *Docker) resolve(ctx context.Context, spec Spec, all bool) ([]Target, error) {
	args := filters.NewArgs()
	var what string
	switch {
	case spec.Service != "":
		project := cmp.Or(spec.Project, d.Project)
		if project == "" {
			return nil, fmt.Errorf("target service %q: no compose project (set stack.compose or target.project)", spec.Service)
		}
		args.Add("label", LabelProject+"="+project)
		args.Add("label", LabelService+"="+spec.Service)
		what = fmt.Sprintf("service %q of compose project %q", spec.Service, project)
	case spec.Container != "":
		what = fmt.Sprintf("container %q", spec.Container)
	case len(spec.Labels) > 0:
		keys := make([]string, 0, len(spec.Labels))
		for k, v := range spec.Labels {
			args.Add("label", k+"="+v)
			keys = append(keys, k+"="+v)
		}
		sort.Strings(keys)
		what = "labels " + strings.Join(keys, ", ")
	default:
		if d.Fallback == nil {
			return nil, errors.New("target names nothing a Docker stack has (valid: one of service, container, labels)")
		}
		return d.Fallback.Resolve(ctx, spec)
	}
	cs, err := d.API.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return nil, fmt.Errorf("target %s: list containers: %w", what, DockerError(err))
	}
	match := func(container.Summary) bool { return true }
	if spec.Container != "" {
		if match, err = containerMatch(cs, spec.Container); err != nil {
			return nil, err
		}
	}
	var out []Target
	var down []string
	for _, c := range cs {
		name := containerName(c)
		if !match(c) {
			continue
		}
		if !all && c.State != "running" && c.State != "paused" {
			down = append(down, name+" ("+c.State+")")
			continue
		}
		out = append(out, Target{Name: name, Service: c.Labels[LabelService], Container: c.ID})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	if len(out) > 1 && spec.Service == "" && spec.Pick == "" && !all {
		ms := make([]string, 0, len(out))
		for _, t := range out {
			ms = append(ms, t.Name+" ("+shortID(t.Container)+")")
		}
		return nil, Refusef("target %s matches %d containers (%s) and chaos does not guess (valid: pick: all to hit every one, pick: one, N or N%%, or container: to name one)", what, len(out), strings.Join(ms, ", "))
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(down) > 0 {
		return nil, fmt.Errorf("target %s matches no running container (found, not running: %s)", what, strings.Join(down, ", "))
	}
	return nil, fmt.Errorf("target %s matches no container (%s)", what, d.found(ctx, spec))
}

// minIDPrefix is the shortest container ID prefix a target may use: the
// 12 characters `docker ps` shows. A shorter one ("2") matches by chance.
const minIDPrefix = 12

// containerMatch says which containers `container: ref` names: the one
// whose name is ref, else those whose ID starts with ref when ref is an ID
// prefix of at least 12 hex characters. A shorter hex ref that names no
// container is refused rather than matched as a prefix.
func containerMatch(cs []container.Summary, ref string) (func(container.Summary) bool, error) {
	for _, c := range cs {
		if containerName(c) == ref {
			return func(c container.Summary) bool { return containerName(c) == ref }, nil
		}
	}
	hex := strings.Trim(strings.ToLower(ref), "0123456789abcdef") == ""
	if hex && len(ref) < minIDPrefix {
		n := 0
		for _, c := range cs {
			if strings.HasPrefix(c.ID, strings.ToLower(ref)) {
				n++
			}
		}
		starts := ""
		if n > 0 {
			starts = fmt.Sprintf("; %d container IDs start with it", n)
		}
		return nil, Refusef("target container %q names no container, and as an ID prefix it is too short (%d of at least %d characters%s) (valid: a container's exact name, or at least %d characters of its ID as docker ps shows)", ref, len(ref), minIDPrefix, starts, minIDPrefix)
	}
	id := strings.ToLower(ref)
	return func(c container.Summary) bool { return hex && strings.HasPrefix(c.ID, id) }, nil
}

func shortID(id string) string { return id[:min(12, len(id))] }

// found lists what does exist, for the error of a target that matches
// nothing: the project's services, or the compose projects running.
func (d *Docker) found(ctx context.Context, spec Spec) string {
	project := cmp.Or(spec.Project, d.Project)
	args := filters.NewArgs()
	if project != "" && spec.Service != "" {
		args.Add("label", LabelProject+"="+project)
	}
	cs, err := d.API.ContainerList(ctx, container.ListOptions{All: true, Filters: args})
	if err != nil {
		return "cannot list containers: " + err.Error()
	}
	services, projects, names := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, c := range cs {
		names[containerName(c)] = true
		if p := c.Labels[LabelProject]; p != "" {
			projects[p] = true
			if p == project {
				services[c.Labels[LabelService]] = true
			}
		}
	}
	switch {
	case spec.Service != "" && len(services) > 0:
		return "services found: " + strings.Join(slices.Sorted(maps.Keys(services)), ", ")
	case spec.Service != "" && len(projects) == 0:
		return fmt.Sprintf("no container of compose project %q is there: is the stack up?", project)
	case spec.Service != "":
		return "compose projects found: " + strings.Join(slices.Sorted(maps.Keys(projects)), ", ")
	case len(names) == 0:
		return "no containers at all"
	}
	return "containers found: " + strings.Join(first(slices.Sorted(maps.Keys(names)), 12), ", ")
}

func containerName(c container.Summary) string {
	if len(c.Names) > 0 {
		return strings.TrimPrefix(c.Names[0], "/")
	}
	return shortID(c.ID)
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("… %d more", len(s)-n))
	}
	return s
}

var projectRE = regexp.MustCompile(`[^-_a-z0-9]`)

// ComposeProject is the project name docker-compose gives a compose file:
// $COMPOSE_PROJECT_NAME when set, else the file's folder name, lower-cased,
// without the characters compose drops.
func ComposeProject(composeFile string) string {
	if p := os.Getenv("COMPOSE_PROJECT_NAME"); p != "" {
		return p
	}
	abs, err := filepath.Abs(composeFile)
	if err != nil {
		abs = composeFile
	}
	return projectRE.ReplaceAllString(strings.ToLower(filepath.Base(filepath.Dir(abs))), "")
}

var (
	dockerOnce   sync.Once
	dockerClient *client.Client
	dockerErr    error
)

// DockerClient is the process's Docker Engine API client: from the
// environment (DOCKER_HOST …), with the API version negotiated with the
// daemon, so a current client talks to an older engine (API 1.41).
func DockerClient() (*client.Client, error) {
	dockerOnce.Do(func() {
		dockerClient, dockerErr = client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if dockerErr != nil {
			dockerErr = fmt.Errorf("docker client: %w", dockerErr)
		}
	})
	return dockerClient, dockerErr
}

// PingDocker checks that the daemon answers within 5 s, with one line that
// says where it looked and what to do when it does not.
func PingDocker(ctx context.Context) error {
	c, err := DockerClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		return fmt.Errorf("docker is not reachable at %s: %w (is the daemon running? set DOCKER_HOST to reach another one)", c.DaemonHost(), DockerError(err))
	}
	return nil
}

// DockerError shortens the Docker client's errors to their cause (a refused
// or denied socket says so in a few words).
func DockerError(err error) error {
	s := err.Error()
	switch {
	case strings.Contains(s, "permission denied"):
		return errors.New("permission denied on the Docker socket (run as root or join the docker group)")
	case client.IsErrConnectionFailed(err), strings.Contains(s, "connection refused"), strings.Contains(s, "no such file or directory"):
		return errors.New("cannot connect to the Docker daemon")
	}
	return err
}
