package e2ecompose

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
)

// composeFaults writes an experiment of faults (YAML list items) against
// the compose stack, with light load on the gateway.
func composeFaults(t *testing.T, name, faults string) string {
	t.Helper()
	compose, _ := filepath.Abs(filepath.Join(composeDir, "docker-compose.yml"))
	file := filepath.Join(t.TempDir(), name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: `+name+`
stack: {compose: `+compose+`}
load: {url: "${gateway}/healthz", method: GET, rate: 20/s}
steady_state: {for: 1s, slo: {error_rate: 5%, min_requests: 5}}
faults:
`+faults), 0o644))
	return file
}

// limitsOf is what `docker update` changes and rollback must put back, as
// the kernel applies it: the Engine API cannot set a limit back to "unset"
// (0 means "leave as is"), so rollback writes "unlimited" (quota -1, memory
// at the kernel's maximum), which is the same limit.
func limitsOf(c container.InspectResponse) [4]int64 {
	r := c.HostConfig.Resources
	cpu := int64(0) // CPUs in millionths, from a quota
	if r.CPUQuota > 0 && r.CPUPeriod > 0 {
		cpu = r.CPUQuota * 1_000_000 / r.CPUPeriod
	}
	mem, swap := r.Memory, r.MemorySwap
	if mem >= 1<<60 {
		mem = 0
	}
	if swap < 0 || swap >= 1<<60 {
		swap = 0
	}
	return [4]int64{r.NanoCPUs, cpu, mem, swap}
}

// ownershipOnContainers: on the fallback container, a run's pause and
// limits are left alone by a `chaos recover` mid-run and by a second run
// that wants the container (exit 4, nothing injected); overlapping pause
// and limits restore the original state in either order of rollback; a
// planted journal entry naming the container does nothing.
func ownershipOnContainers(t *testing.T, s *composeStack, state string) {
	fallback := func() container.InspectResponse { return s.containers("model-fallback")[0] }
	before := limitsOf(fallback())

	a, _, errA := chaosCmd(t, "run", composeFaults(t, "owner", `
  - {name: squeeze, kind: limits, target: {service: model-fallback}, params: {cpus: 0.5}, for: 5s}
  - {name: hang, kind: pause, target: {service: model-fallback}, at: 1s, for: 2s}
`), "--state-dir", state)
	a.Env = append(a.Env, "COMPOSE_PROJECT_NAME="+s.project)
	require.NoError(t, a.Start())
	idA := clitest.RunID(t, errA)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(errA.String(), "limited container") {
		if time.Now().After(deadline) {
			_ = a.Process.Kill()
			t.Fatalf("timed out waiting for the limits:\n%s", errA.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	limited := limitsOf(fallback())
	require.NotEqual(t, before, limited, "the limits are on")

	code, out, stderr := s.chaos("recover", "--state-dir", state)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "run "+idA)
	assert.Contains(t, out, "is still running")
	assert.Equal(t, limited, limitsOf(fallback()), "recover left the live run's limits on")

	code, _, stderr = s.chaos("run", composeFaults(t, "intruder", `
  - {name: squeeze-more, kind: limits, target: {service: model-fallback}, params: {memory: 64m}, for: 2s}
`), "--state-dir", t.TempDir())
	assert.Equal(t, 4, code, stderr)
	assert.Contains(t, stderr, "is in use by run "+idA)
	assert.NotContains(t, stderr, "limited container")
	assert.Equal(t, limited, limitsOf(fallback()), "the second run changed nothing")

	require.NoError(t, a.Wait(), errA.String())
	assert.Equal(t, before, limitsOf(fallback()), "the original limits are back")
	assert.False(t, fallback().State.Paused)

	// The other order: the pause ends last.
	code, _, stderr = s.chaos("run", composeFaults(t, "reverse", `
  - {name: hang, kind: pause, target: {service: model-fallback}, for: 3s}
  - {name: squeeze, kind: limits, target: {service: model-fallback}, params: {cpus: 0.3, memory: 96m}, at: 500ms, for: 1s}
`), "--state-dir", state)
	assert.Equal(t, 0, code, stderr)
	assert.Equal(t, before, limitsOf(fallback()), "the original limits are back")
	assert.False(t, fallback().State.Paused)

	// A planted entry: the right container ID, but a creation time or a
	// lease its run never had.
	c := fallback()
	dir := filepath.Join(state, "journal")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	entry := func(id int, created string, key string) string {
		return fmt.Sprintf(`{"op":"do","id":%d,"run":"planted","fault":"squeeze","target":"fallback","key":"%s","action":"docker-update","data":{"id":"%s","name":"fallback","created":"%s","memory":%d,"set_memory":true}}`, id, key, c.ID, created, 6<<20)
	}
	lines := []string{
		`{"op":"open","meta":{"version":2,"run":"planted","pid":1,"started":"` + time.Now().Format(time.RFC3339) + `"}}`,
		`{"op":"lease","key":"container:` + c.ID + `"}`,
		entry(1, "2001-01-01T00:00:00Z", "container:"+c.ID), `{"op":"done","id":1}`,
		entry(2, c.Created, "container:"+c.ID[:12]), `{"op":"done","id":2}`,
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "planted.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	code, out, stderr = s.chaos("recover", "--state-dir", state)
	assert.Equal(t, 0, code, out+stderr)
	assert.Contains(t, out, "skipped squeeze on fallback (run planted): container fallback")
	assert.Contains(t, out, "is not the target that was changed (created "+c.Created)
	assert.Contains(t, out, "its run never leased container:"+c.ID[:12])
	assert.NotContains(t, out, "undid")
	assert.Equal(t, before, limitsOf(fallback()), "nothing was done to the container")
}

// killMatrixContainers: two runs at once on different containers (a pause
// of one primary replica by name, limits on the fallback), both killed with
// SIGKILL at random points, then one `chaos recover`: no container is left
// paused or limited, and no journal or lease is left.
func killMatrixContainers(t *testing.T, s *composeStack) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 11))
	state, leases := t.TempDir(), t.TempDir()
	primary := s.containers("model-primary")[0]
	fallback := func() container.InspectResponse { return s.containers("model-fallback")[0] }
	before := limitsOf(fallback())
	for round := range 3 {
		files := []string{
			composeFaults(t, fmt.Sprintf("pause-%d", round), `
  - {name: hang, kind: pause, target: {container: `+strings.TrimPrefix(primary.Name, "/")+`}, for: 2s}
`),
			composeFaults(t, fmt.Sprintf("squeeze-%d", round), `
  - {name: squeeze, kind: limits, target: {service: model-fallback}, params: {cpus: 0.4, memory: 80m}, for: 2s}
`),
		}
		var cmds []*exec.Cmd
		for i, f := range files {
			cmd, _, _ := chaosCmd(t, "run", f, "--state-dir", state)
			cmd.Env = append(cmd.Env, "COMPOSE_PROJECT_NAME="+s.project, "CHAOS_LEASE_DIR="+leases)
			require.NoError(t, cmd.Start())
			at := time.Duration(rng.Int64N(int64(4 * time.Second)))
			t.Logf("round %d run %d killed at +%s", round, i, at)
			go func() { time.Sleep(at); _ = cmd.Process.Kill() }()
			cmds = append(cmds, cmd)
		}
		for _, cmd := range cmds {
			_ = cmd.Wait()
		}
		cmd, out, errb := chaosCmd(t, "recover", "--state-dir", state)
		cmd.Env = append(cmd.Env, "CHAOS_LEASE_DIR="+leases)
		require.NoError(t, cmd.Run(), out.String()+errb.String())
		p, err := dockerAPI(t).ContainerInspect(context.Background(), primary.ID)
		require.NoError(t, err)
		assert.False(t, p.State.Paused, "round %d: the replica is not left paused\n%s", round, out.String())
		assert.Equal(t, before, limitsOf(fallback()), "round %d: the fallback's limits are back\n%s", round, out.String())
		left, _ := filepath.Glob(filepath.Join(state, "journal", "*"))
		assert.Empty(t, left, "round %d: journals", round)
		held, _ := filepath.Glob(filepath.Join(leases, "*"))
		assert.Empty(t, held, "round %d: leases", round)
	}
}

// TestComposeStackDown: a bundled compose experiment against a project
// that is not up says so first — not "unknown variable ${gateway}".
func TestComposeStackDown(t *testing.T) {
	needDocker(t)
	cmd, out, errb := chaosCmd(t, "run", experiment("pause-replica"), "-q", "--state-dir", t.TempDir())
	cmd.Env = append(cmd.Env, "COMPOSE_PROJECT_NAME=chaosnosuchproject")
	err := cmd.Run()
	assert.Equal(t, 4, clitest.ExitCode(err), out.String()+errb.String())
	assert.Contains(t, errb.String(), `no container of compose project "chaosnosuchproject": is the stack up?`)
	assert.NotContains(t, errb.String(), "unknown variable")
}
