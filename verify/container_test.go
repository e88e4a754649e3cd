package verify

import (
	"context"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/targets"
)

type fakeInspector map[string]*container.InspectResponse

func (f fakeInspector) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return *f[id], nil
}

func inspected(id, status string, running bool, health string, restarts int) *container.InspectResponse {
	st := &container.State{Status: status, Running: running, Paused: status == "paused"}
	if health != "" {
		st.Health = &container.Health{Status: health}
	}
	return &container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{ID: id, Name: "/" + id, State: st, RestartCount: restarts}}
}

func TestContainerCheck(t *testing.T) {
	yes, no, zero := true, false, 0
	resolver := &targets.Static{Known: []targets.Target{
		{Name: "p1", Service: "model-primary", Container: "p1"},
		{Name: "p2", Service: "model-primary", Container: "p2"},
	}}
	tests := []struct {
		name     string
		check    ContainerCheck
		p2       *container.InspectResponse
		held     bool
		reason   string
		measured string
	}{
		{"running held", ContainerCheck{Running: &yes}, inspected("p2", "running", true, "healthy", 0), true, "", "p2 running, healthy, 0 restarts"},
		{"running fails on an exited replica", ContainerCheck{Running: &yes}, inspected("p2", "exited", false, "unhealthy", 0), false, "p2 is exited", ""},
		{"paused is not running", ContainerCheck{Running: &yes}, inspected("p2", "paused", true, "healthy", 0), false, "p2 is paused", ""},
		{"not running fails while one runs", ContainerCheck{Running: &no}, inspected("p2", "exited", false, "", 0), false, "p1 is running", ""},
		{"healthy fails while starting", ContainerCheck{Healthy: &yes}, inspected("p2", "running", true, "starting", 0), false, "p2 health is starting", ""},
		{"no healthcheck is not healthy", ContainerCheck{Healthy: &yes}, inspected("p2", "running", true, "", 0), false, "p2 health is no healthcheck", ""},
		{"restarts counted from the first sample", ContainerCheck{MaxRestarts: &zero}, inspected("p2", "running", true, "healthy", 3), false, "p2 restarted 2 times, more than 0", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p2base := *inspected("p2", "running", true, "healthy", 1)
			api := fakeInspector{"p1": inspected("p1", "running", true, "healthy", 0), "p2": &p2base}
			old := DockerInspector
			DockerInspector = func() (Inspector, error) { return api, nil }
			t.Cleanup(func() { DockerInspector = old })

			c := tc.check
			c.Target = targets.Spec{Service: "model-primary"}
			require.Empty(t, c.Validate())
			c.UseResolver(resolver)
			start := time.Now()
			w := Window{Name: "f", From: start.Add(time.Second)}
			ctx := context.Background()
			c.Sample(ctx, start, w) // baseline: restart counts
			c.st.bg.wait()
			api["p2"] = tc.p2
			c.Sample(ctx, start.Add(2*time.Second), w) // inside the window: observed
			c.st.bg.wait()
			api["p2"] = inspected("p2", "running", true, "healthy", 9) // after the window: ignored
			r := c.Evaluate(ctx, Evidence{Window: Window{Name: "f", From: w.From, To: time.Now().Add(time.Millisecond)}})
			assert.Equal(t, tc.held, r.Held, "%+v", r)
			if tc.reason != "" {
				assert.Contains(t, r.Reason, tc.reason)
			}
			if tc.measured != "" {
				assert.Contains(t, r.Measured, tc.measured)
			}
		})
	}
}

func TestContainerCheckValidate(t *testing.T) {
	assert.NotEmpty(t, (&ContainerCheck{}).Validate())
	neg := -1
	assert.NotEmpty(t, (&ContainerCheck{Target: targets.Spec{Container: "x"}, MaxRestarts: &neg}).Validate())
	r := (&ContainerCheck{Target: targets.Spec{Container: "x"}}).Evaluate(context.Background(), Evidence{})
	assert.False(t, r.Held)
	assert.Contains(t, r.Reason, "no resolver")
}
