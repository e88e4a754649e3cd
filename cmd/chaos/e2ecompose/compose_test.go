package e2ecompose

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/experiments/gameday"
	"github.com/chaos-sre/chaos/faults/targets"
)

// The end-to-end tests in this file run the experiments of
// examples/experiments/compose against the compose stack of examples/compose,
// built and brought up under a project name of their own, and bring it down
// (containers, networks, volumes) in t.Cleanup, also when they fail.
// Without Docker they skip; with CHAOS_REQUIRE_DOCKER=1 they fail instead.

// needDocker skips (or, with CHAOS_REQUIRE_DOCKER=1, fails) a test when the
// Docker daemon or docker-compose is not there.
func needDocker(t *testing.T) {
	t.Helper()
	required := os.Getenv("CHAOS_REQUIRE_DOCKER") == "1"
	why := ""
	if _, err := exec.LookPath("docker-compose"); err != nil {
		why = "docker-compose is not installed"
	} else if err := targets.PingDocker(context.Background()); err != nil {
		why = err.Error()
	}
	switch {
	case why != "" && required:
		t.Fatalf("CHAOS_REQUIRE_DOCKER=1 but %s", why)
	case why != "":
		t.Skipf("no Docker (%s); set CHAOS_REQUIRE_DOCKER=1 to make this a failure", why)
	case testing.Short() && !required:
		t.Skip("the compose end-to-end tests take a few minutes")
	}
}

// composeStack is one compose project brought up for a test.
type composeStack struct {
	t       *testing.T
	project string
	port    int
	dir     string // examples/compose
	env     []string
	state   string // the runs' state folder
}

const composeDir = "../../../examples/compose"

// upCompose builds the images and brings the stack up with stack.sh (the
// documented command) under a unique project name and a free port.
func upCompose(t *testing.T) *composeStack {
	t.Helper()
	dir, err := filepath.Abs(composeDir)
	require.NoError(t, err)
	s := &composeStack{t: t, project: composeProject(t), port: freePort(t), dir: dir, state: t.TempDir()}
	s.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+s.project, "GATEWAY_PORT="+strconv.Itoa(s.port))
	t.Cleanup(s.down)
	s.run("stack.sh up", filepath.Join(dir, "stack.sh"), "up")
	return s
}

// composeProject is unique per test and process: tests of other packages
// (or other runs) may have stacks up on the same daemon.
func composeProject(t *testing.T) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.ToLower(strings.TrimPrefix(t.Name(), "Test")))
	return fmt.Sprintf("chaose2e%d%s", os.Getpid(), name[:min(len(name), 12)])
}

func (s *composeStack) run(what string, name string, args ...string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = s.env, s.dir
	out, err := cmd.CombinedOutput()
	require.NoError(s.t, err, "%s:\n%s", what, out)
}

// down undoes whatever a failed test left behind (chaos recover), then
// removes the project's containers, networks and volumes, and checks that
// none is left.
func (s *composeStack) down() {
	if code, out, stderr := s.chaos("recover", "--state-dir", s.state); code != 0 {
		s.t.Errorf("chaos recover before docker-compose down: exit %d\n%s%s", code, out, stderr)
	}
	cmd := exec.Command("docker-compose", "-p", s.project, "-f", filepath.Join(s.dir, "docker-compose.yml"), "down", "-v", "--remove-orphans", "-t", "1")
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Errorf("docker-compose down: %v\n%s", err, out)
	}
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+targets.LabelProject+"="+s.project).Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		s.t.Errorf("containers of project %s left after docker-compose down: %s", s.project, out)
		_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(out))...)...).Run()
	}
}

// variant recreates the gateway with GATEWAY_VARIANT (""= the full gateway)
// and waits until it answers.
func (s *composeStack) variant(v string) {
	s.t.Helper()
	env := s.env
	s.env = append(s.env, "GATEWAY_VARIANT="+v)
	defer func() { s.env = env }()
	s.run("recreate the gateway", "docker-compose", "-p", s.project, "-f", "docker-compose.yml", "up", "-d", "--no-build", "gateway")
	s.waitHealthy()
}

// waitAllHealthy waits until every container of the stack reports healthy
// again: a fault (a pause, tight limits) can leave a healthcheck failed,
// and compose refuses to recreate a service whose dependency is unhealthy.
func (s *composeStack) waitAllHealthy() {
	s.t.Helper()
	waitFor(s.t, "every container healthy", func() bool {
		for _, svc := range []string{"model-primary", "model-fallback", "gateway"} {
			for _, c := range s.containers(svc) {
				if c.State == nil || c.State.Health == nil || c.State.Health.Status != "healthy" {
					return false
				}
			}
		}
		return true
	})
}

func (s *composeStack) waitHealthy() {
	s.t.Helper()
	url := fmt.Sprintf("http://127.0.0.1:%d/healthz", s.port)
	waitFor(s.t, "the gateway at "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

// chaos runs the CLI against this stack: the compose project comes from
// COMPOSE_PROJECT_NAME, as docker-compose's own does.
func (s *composeStack) chaos(args ...string) (int, string, string) {
	s.t.Helper()
	cmd, out, errb := chaosCmd(s.t, args...)
	cmd.Env = append(cmd.Env, "COMPOSE_PROJECT_NAME="+s.project)
	return clitest.Run(s.t, cmd, out, errb)
}

// untilJudged runs the CLI against this stack and runs it again, up to
// three times, while it exits 5 (chaos itself was starved: nothing judged).
func (s *composeStack) untilJudged(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return clitest.UntilJudged(t, func() (int, string, string) { return s.chaos(args...) })
}

// containers lists the project's containers of a service, by name.
func (s *composeStack) containers(service string) []container.InspectResponse {
	s.t.Helper()
	d := &targets.Docker{API: dockerAPI(s.t), Project: s.project}
	ts, err := d.ResolveAll(context.Background(), targets.Spec{Service: service})
	require.NoError(s.t, err)
	var out []container.InspectResponse
	for _, x := range ts {
		c, err := dockerAPI(s.t).ContainerInspect(context.Background(), x.Container)
		require.NoError(s.t, err)
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

func dockerAPI(t *testing.T) interface {
	targets.Lister
	ContainerInspect(ctx context.Context, id string) (container.InspectResponse, error)
} {
	t.Helper()
	c, err := targets.DockerClient()
	require.NoError(t, err)
	return c
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func experiment(name string) string {
	return filepath.Join("../../../examples/experiments/compose", name+".yaml")
}

// TestCompose brings one compose stack up and runs, in order: the bundled
// compose game-day (examples/gameday/compose.yaml: pause, kill, stop and
// disconnect experiments, with the steady-state gate between them) and the
// network experiments against the full gateway (exit 0), a typo'd target
// (exit 2), kill -9 of a run mid-fault then `chaos recover`, two runs that
// own their faults, kill -9 of two concurrent runs, the slow-primary
// experiment against the no-breaker gateway and the pause, kill and
// lossy-link experiments against the no-ejection gateway (exit 1). One stack
// serves them all: bringing one up is a fair share of the time.
func TestCompose(t *testing.T) {
	needDocker(t)
	s := upCompose(t)
	state := s.state

	t.Run("full gateway holds the compose game-day", func(t *testing.T) {
		reports := t.TempDir()
		code, out, stderr := s.untilJudged(t, "gameday", "../../../examples/gameday/compose.yaml", "--report-dir", reports, "--state-dir", state, "--seed", "5")
		if !assert.Equal(t, 0, code, "%s\n%s", out, stderr) {
			s.waitAllHealthy()
		}
		assert.Contains(t, out, "gameday weekly-compose: HELD (exit 0")
		assert.Contains(t, stderr, "gameday: steady state before killed-replica-is-ejected holds")
		entries, err := gameday.ReadIndex(reports)
		require.NoError(t, err)
		require.Len(t, entries, 1)
		assert.Len(t, entries[0].Experiments, 4)
	})

	t.Run("full gateway holds the network experiments", func(t *testing.T) {
		for _, e := range []string{"net-slow-primary", "net-lossy-replica", "net-partition-primary", "net-bandwidth-streaming"} {
			code, out, stderr := s.untilJudged(t, "run", experiment(e), "-q", "--seed", "5", "--state-dir", state)
			if !assert.Equal(t, 0, code, "%s\nstdout:\n%s\nstderr:\n%s", e, out, stderr) {
				s.waitHealthy()
			}
		}
	})

	t.Run("typo in a service is exit 2 with the services found", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "typo.yaml")
		compose, _ := filepath.Abs(filepath.Join(composeDir, "docker-compose.yml"))
		require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: typo
stack: {compose: `+compose+`}
load: {url: "${gateway}/healthz", method: GET, rate: 5/s}
faults:
  - {name: p, kind: pause, target: {service: model-primry}, for: 5s}
`), 0o644))
		code, _, stderr := s.chaos("run", file, "--state-dir", state)
		assert.Equal(t, 2, code, stderr)
		assert.Contains(t, stderr, `target service "model-primry" of compose project "`+s.project+`" matches no container (services found: gateway, model-fallback, model-primary)`)
	})

	t.Run("kill -9 mid-fault then recover", func(t *testing.T) {
		killedRunIsRecovered(t, s, state)
	})

	t.Run("runs own their faults", func(t *testing.T) {
		ownershipOnContainers(t, s, state)
		s.waitAllHealthy()
	})

	t.Run("kill -9 of two concurrent runs, then recover", func(t *testing.T) {
		killMatrixContainers(t, s)
		s.waitAllHealthy()
	})

	t.Run("no-breaker gateway fails the slow primary", func(t *testing.T) {
		// The crippled gateways come last: each subtest recreates the
		// gateway with its own variant and the stack goes down after them.
		s.variant("no-breaker")
		code, out, stderr := s.untilJudged(t, "run", experiment("net-slow-primary"), "-q", "--seed", "5", "--state-dir", state)
		assert.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
		assert.Contains(t, out, "✗ breaker opens:")
	})

	t.Run("no-ejection gateway fails pause, kill and the lossy link", func(t *testing.T) {
		s.variant("no-ejection")
		for _, e := range []string{"pause-replica", "kill-replica", "net-lossy-replica"} {
			code, out, stderr := s.untilJudged(t, "run", experiment(e), "-q", "--seed", "5", "--state-dir", state)
			assert.Equal(t, 1, code, "%s\nstdout:\n%s\nstderr:\n%s", e, out, stderr)
			assert.Contains(t, out, "✗ replica ejected:")
		}
	})

	left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	assert.Empty(t, left, "every run rolled back everything")
}

// killedRunIsRecovered pauses a primary replica, stops the fallback and cuts
// the gateway off the models network in one run, kills that run with
// SIGKILL, and checks that `chaos recover` puts all three back.
func killedRunIsRecovered(t *testing.T, s *composeStack, state string) {
	compose, _ := filepath.Abs(filepath.Join(composeDir, "docker-compose.yml"))
	file := filepath.Join(t.TempDir(), "long.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: long-faults
stack: {compose: `+compose+`}
load: {url: "${gateway}/healthz", method: GET, rate: 5/s}
steady_state: {for: 2s, slo: {error_rate: 1%, min_requests: 5}}
faults:
  - {name: hung, kind: pause, target: {service: model-primary, pick: one}, for: 120s}
  - {name: down, kind: stop, target: {service: model-fallback}, params: {grace: 1s}, for: 120s}
  - {name: cut, kind: disconnect, target: {service: gateway}, params: {network: models}, for: 120s}
`), 0o644))
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", state, "--seed", "2")
	cmd.Env = append(cmd.Env, "COMPOSE_PROJECT_NAME="+s.project)
	require.NoError(t, cmd.Start())
	waitFor(t, "the three faults", func() bool {
		e := errb.String()
		return strings.Contains(e, "paused container") && strings.Contains(e, "stopped container") && strings.Contains(e, "disconnected container")
	})
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	paused := func() int {
		n := 0
		for _, c := range s.containers("model-primary") {
			if c.State.Paused {
				n++
			}
		}
		return n
	}
	models := s.project + "_models"
	require.Equal(t, 1, paused(), "kill -9 leaves the replica paused")
	require.False(t, s.containers("model-fallback")[0].State.Running, "… the fallback stopped")
	require.Nil(t, s.containers("gateway")[0].NetworkSettings.Networks[models], "… the gateway disconnected")

	code, out, stderr := s.chaos("recover", "--state-dir", state)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, stderr)
	assert.Contains(t, out, "undid hung")
	assert.Contains(t, out, "undid down")
	assert.Contains(t, out, "undid cut")
	assert.Equal(t, 0, paused(), "recover unpaused the replica")
	assert.True(t, s.containers("model-fallback")[0].State.Running, "recover started the fallback")
	gw := s.containers("gateway")[0].NetworkSettings.Networks[models]
	require.NotNil(t, gw, "recover reconnected the gateway")
	assert.Contains(t, gw.Aliases, "gateway", "with its compose alias")

	code, out, _ = s.chaos("recover", "--state-dir", state)
	assert.Equal(t, 0, code, "recover twice is harmless")
	assert.Contains(t, out, "nothing left to undo (0 undone")
	s.waitHealthy()
	waitFor(t, "the fallback to be healthy", func() bool {
		c := s.containers("model-fallback")[0]
		return c.State.Health != nil && c.State.Health.Status == "healthy"
	})
}

// TestDockerUnreachable: with no daemon at DOCKER_HOST, a compose experiment
// stops at preflight with exit 4 and one line that says where it looked.
func TestDockerUnreachable(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.yaml")
	compose, _ := filepath.Abs(filepath.Join(composeDir, "docker-compose.yml"))
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: nodocker
stack: {compose: `+compose+`, vars: {gateway: "http://127.0.0.1:1"}}
load: {url: "${gateway}/", rate: 5/s}
faults:
  - {name: p, kind: pause, target: {service: model-primary}, for: 5s}
`), 0o644))
	cmd, out, errb := chaosCmd(t, "run", file, "-q", "--state-dir", t.TempDir())
	cmd.Env = append(cmd.Env, "DOCKER_HOST=unix:///nonexistent/docker.sock")
	err := cmd.Run()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, out.String())
	assert.Equal(t, 4, ee.ExitCode())
	assert.Contains(t, errb.String(), "docker is not reachable at unix:///nonexistent/docker.sock: cannot connect to the Docker daemon")
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(errb.String()), "\n")+1, "one clear line: %q", errb.String())
}
