package container

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/chaos-sre/chaos/faults"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/errdefs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/targets"
)

// fakeDocker is a ContainerAPI over in-memory containers; it records calls.
type fakeDocker struct {
	mu    sync.Mutex
	cs    map[string]*container.InspectResponse
	calls []string
	fail  error // returned by the next change
}

func newFakeDocker(t *testing.T, ids ...string) *fakeDocker {
	f := &fakeDocker{cs: map[string]*container.InspectResponse{}}
	for _, id := range ids {
		f.cs[id] = &container.InspectResponse{
			ContainerJSONBase: &container.ContainerJSONBase{ID: id64(id), Name: "/" + id, Created: "2026-12-01T10:00:00.000000001Z",
				State:      &container.State{Running: true, Status: "running"},
				HostConfig: &container.HostConfig{}},
			Config: &container.Config{Labels: map[string]string{targets.LabelProject: "inf"}},
			NetworkSettings: &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{
				"inf_models": {Aliases: []string{"gateway", id[:2]}}, "inf_front": {}}},
		}
	}
	old := faults.Docker
	faults.Docker = func() (faults.ContainerAPI, error) { return f, nil }
	t.Cleanup(func() { faults.Docker = old })
	return f
}

func (f *fakeDocker) get(id string) (*container.InspectResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.cs[id]; ok {
		return c, nil
	}
	for _, c := range f.cs {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, errdefs.NotFound(errors.New("No such container: " + id))
}

// id64 is the fake's full container ID of a container named name.
func id64(name string) string { return name + strings.Repeat("0", 64-len(name)) }

func (f *fakeDocker) change(call string, id string, do func(c *container.InspectResponse)) error {
	c, err := f.get(id)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call+" "+id)
	if f.fail != nil {
		err, f.fail = f.fail, nil
		return err
	}
	do(c)
	return nil
}

func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	c, err := f.get(id)
	if err != nil {
		return container.InspectResponse{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return *c, nil
}
func (f *fakeDocker) ContainerPause(_ context.Context, id string) error {
	return f.change("pause", id, func(c *container.InspectResponse) { c.State.Paused = true })
}
func (f *fakeDocker) ContainerUnpause(_ context.Context, id string) error {
	return f.change("unpause", id, func(c *container.InspectResponse) { c.State.Paused = false })
}
func (f *fakeDocker) ContainerKill(_ context.Context, id, _ string) error {
	return f.change("kill", id, func(c *container.InspectResponse) { c.State.Running = false })
}
func (f *fakeDocker) ContainerStop(_ context.Context, id string, _ container.StopOptions) error {
	return f.change("stop", id, func(c *container.InspectResponse) { c.State.Running = false })
}
func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	return f.change("start", id, func(c *container.InspectResponse) { c.State.Running = true })
}
func (f *fakeDocker) ContainerRestart(_ context.Context, id string, _ container.StopOptions) error {
	return f.change("restart", id, func(c *container.InspectResponse) { c.State.Running = true })
}
func (f *fakeDocker) ContainerUpdate(_ context.Context, id string, u container.UpdateConfig) (container.UpdateResponse, error) {
	return container.UpdateResponse{}, f.change("update", id, func(c *container.InspectResponse) {
		r := &c.HostConfig.Resources
		if u.CPUQuota != 0 {
			r.CPUQuota, r.CPUPeriod = u.CPUQuota, u.CPUPeriod
		}
		if u.Memory != 0 {
			r.Memory, r.MemorySwap = u.Memory, u.MemorySwap
		}
	})
}
func (f *fakeDocker) NetworkConnect(_ context.Context, n, id string, s *network.EndpointSettings) error {
	return f.change("connect "+n, id, func(c *container.InspectResponse) { c.NetworkSettings.Networks[n] = s })
}
func (f *fakeDocker) NetworkDisconnect(_ context.Context, n, id string, _ bool) error {
	return f.change("disconnect "+n, id, func(c *container.InspectResponse) { delete(c.NetworkSettings.Networks, n) })
}

func ct(name string) targets.Target { return targets.Target{Name: name, Container: id64(name)} }

// crash forgets the live undo closures, as a process that died would, so
// undo goes through the offline undoers.
func crash(j *journal.Journal) []journal.Entry {
	pending := j.Pending()
	for _, e := range pending {
		faults.Forget(e)
	}
	return pending
}

// undo undoes e as `chaos recover` does.
func undo(e journal.Entry) error { return faults.Undo(context.Background(), e, Undoers) }

func TestContainerFaultsRollBack(t *testing.T) {
	tests := []struct {
		name   string
		fault  faults.Fault
		action string
		on     func(c container.InspectResponse) bool // is the fault on?
	}{
		{"pause", &Pause{}, "docker-unpause", func(c container.InspectResponse) bool { return c.State.Paused }},
		{"stop", &Stop{}, "docker-start", func(c container.InspectResponse) bool { return !c.State.Running }},
		{"kill", &Kill{Signal: "KILL", Restart: true}, "docker-start", func(c container.InspectResponse) bool { return !c.State.Running }},
		{"disconnect", &Disconnect{Network: "models"}, "docker-connect", func(c container.InspectResponse) bool { return c.NetworkSettings.Networks["inf_models"] == nil }},
		{"limits", &Limits{CPUs: 0.1, Memory: "64m"}, "docker-update", func(c container.InspectResponse) bool { return c.HostConfig.Memory == 64<<20 }},
	}
	for _, tc := range tests {
		for _, offlineUndo := range []bool{false, true} {
			name := tc.name + map[bool]string{false: "/rollback", true: "/recover after a crash"}[offlineUndo]
			t.Run(name, func(t *testing.T) {
				f := newFakeDocker(t, "c1", "c2")
				env, j := faultstest.Env(t, ct("c1"), ct("c2"))
				require.Empty(t, tc.fault.Validate())
				require.NoError(t, tc.fault.Inject(context.Background(), env))
				for _, id := range []string{"c1", "c2"} {
					c, _ := f.ContainerInspect(context.Background(), id)
					assert.True(t, tc.on(c), "fault on %s", id)
				}
				pending := j.Pending()
				require.Len(t, pending, 2, "journaled before the change")
				assert.Equal(t, tc.action, pending[0].Action)
				if offlineUndo {
					for _, e := range crash(j) {
						require.NoError(t, undo(e))
						require.NoError(t, undo(e), "undo twice is harmless")
					}
				} else {
					require.NoError(t, tc.fault.Rollback(context.Background()))
					require.NoError(t, tc.fault.Rollback(context.Background()), "rollback twice is harmless")
				}
				for _, id := range []string{"c1", "c2"} {
					c, _ := f.ContainerInspect(context.Background(), id)
					assert.False(t, tc.on(c), "fault off %s", id)
				}
			})
		}
	}
}

func TestContainerUndoOfGoneContainerIsDone(t *testing.T) {
	f := newFakeDocker(t, "c1")
	env, j := faultstest.Env(t, ct("c1"))
	require.NoError(t, (&Pause{}).Inject(context.Background(), env))
	delete(f.cs, "c1") // removed meanwhile (docker-compose down)
	for _, e := range crash(j) {
		assert.NoError(t, undo(e))
	}
}

func TestDisconnectRestoresAliases(t *testing.T) {
	f := newFakeDocker(t, "gw")
	d := &Disconnect{Network: "models"}
	env, _ := faultstest.Env(t, ct("gw"))
	require.NoError(t, d.Inject(context.Background(), env))
	require.NoError(t, d.Rollback(context.Background()))
	assert.Equal(t, []string{"gateway", "gw"}, f.cs["gw"].NetworkSettings.Networks["inf_models"].Aliases)
	assert.NotNil(t, f.cs["gw"].NetworkSettings.Networks["inf_front"], "other networks untouched")

	err := (&Disconnect{Network: "nope"}).Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `not on network "nope" (valid: inf_front, inf_models)`)
}

func TestContainerFaultErrors(t *testing.T) {
	f := newFakeDocker(t, "c1")
	env, j := faultstest.Env(t, targets.Target{Name: "model-primary-0", Pid: 42})
	err := (&Pause{}).Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "target model-primary-0 is not a container")

	f.fail = errors.New("boom")
	env, j = faultstest.Env(t, ct("c1"))
	p := &Pause{}
	err = p.Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "pause container c1: boom")
	assert.Empty(t, j.Pending(), "a change that failed is journaled as failed: nothing to undo")
	f.cs["c1"].State.Paused = true // someone else's pause
	require.NoError(t, p.Rollback(context.Background()))
	assert.True(t, f.cs["c1"].State.Paused, "rollback undoes only what took effect")
	assert.NotContains(t, f.calls, "unpause "+id64("c1"))
}

// TestPauseRefusesAPausedContainer: a container paused by someone else
// (another run, a person) is refused before anything is journaled, and
// its pause is never undone by this run.
func TestPauseRefusesAPausedContainer(t *testing.T) {
	f := newFakeDocker(t, "c1")
	f.cs["c1"].State.Paused = true
	env, j := faultstest.Env(t, ct("c1"))
	p := &Pause{}
	err := p.Inject(context.Background(), env)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "already paused, not by this run")
	assert.Empty(t, j.Pending())
	require.NoError(t, p.Rollback(context.Background()))
	assert.True(t, f.cs["c1"].State.Paused)
	assert.Empty(t, f.calls)
}

// TestUndoChecksIdentity: an undo whose container was recreated (another
// creation time), or whose entry names a container its lease key does not,
// does nothing and says why.
func TestUndoChecksIdentity(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  faults.Fault
		change func(f *fakeDocker, e *journal.Entry)
		want   string
	}{
		{"recreated container", &Pause{}, func(f *fakeDocker, _ *journal.Entry) { f.cs["c1"].Created = "2026-12-01T11:00:00Z" }, "is not the target that was changed (created 2026-12-01T11:00:00Z"},
		{"entry for another container", &Limits{CPUs: 0.2}, func(_ *fakeDocker, e *journal.Entry) { e.Key = faults.ContainerKey(id64("c2")) }, "lease key is container:c2"},
		{"short id", &Stop{}, func(_ *fakeDocker, e *journal.Entry) {
			e.Data = []byte(`{"id":"c1","name":"c1","created":"2026-12-01T10:00:00.000000001Z"}`)
			e.Key = faults.ContainerKey("c1")
		}, "not a full container ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeDocker(t, "c1", "c2")
			env, j := faultstest.Env(t, ct("c1"))
			require.NoError(t, tc.fault.Inject(context.Background(), env))
			calls := len(f.calls)
			for _, e := range crash(j) {
				tc.change(f, &e)
				err := undo(e)
				require.Error(t, err)
				assert.True(t, faults.IsNotSame(err), err.Error())
				assert.Contains(t, err.Error(), tc.want)
			}
			assert.Len(t, f.calls, calls, "nothing was done to the container")
		})
	}
}

func TestContainerParamsValidate(t *testing.T) {
	assert.NotEmpty(t, (&Kill{Signal: "HUP"}).Validate())
	assert.Empty(t, (&Kill{Signal: "SIGTERM"}).Validate())
	assert.NotEmpty(t, (&Limits{}).Validate())
	assert.NotEmpty(t, (&Limits{Memory: "1m"}).Validate())
	assert.NotEmpty(t, (&Limits{Memory: "lots"}).Validate())
	assert.Empty(t, (&Limits{Memory: "512MiB"}).Validate())
	assert.NotEmpty(t, (&Stop{Grace: -1}).Validate())
	b, err := parseBytes("1.5g")
	require.NoError(t, err)
	assert.Equal(t, int64(1.5*(1<<30)), b)
}
