package e2ecompose

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/kinds"
	"github.com/chaos-sre/chaos/faults/targets"
)

// TestMeasureContainerFaults times, ten times each, how long a pause and a
// kill take from the fault's start to the container being paused / dead,
// and from the rollback's start to the replica answering /healthz again,
// and prints the medians. It needs a running stack (examples/compose/stack.sh
// up; project $COMPOSE_PROJECT_NAME, default compose) and CHAOS_MEASURE=1:
//
//	CHAOS_MEASURE=1 go test ./cmd/chaos/e2ecompose -run TestMeasureContainerFaults -v
func TestMeasureContainerFaults(t *testing.T) {
	if os.Getenv("CHAOS_MEASURE") != "1" {
		t.Skip("set CHAOS_MEASURE=1 with the compose stack up to measure")
	}
	project := os.Getenv("COMPOSE_PROJECT_NAME")
	if project == "" {
		project = "compose"
	}
	ctx := context.Background()
	api := dockerAPI(t)
	ts, err := (&targets.Docker{API: api, Project: project}).Resolve(ctx, targets.Spec{Service: "model-primary"})
	require.NoError(t, err)
	tg := ts[0]
	c, err := api.ContainerInspect(ctx, tg.Container)
	require.NoError(t, err)
	ip := c.NetworkSettings.Networks[project+"_models"].IPAddress
	health := "http://" + ip + ":8000/healthz"
	hc := &http.Client{Timeout: 200 * time.Millisecond}
	answers := func() bool {
		resp, err := hc.Get(health)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	until := func(cond func() bool) time.Duration {
		start := time.Now()
		for !cond() {
			require.Less(t, time.Since(start), 30*time.Second)
			time.Sleep(time.Millisecond)
		}
		return time.Since(start)
	}
	require.True(t, answers(), "the replica answers at %s (run the test on the Docker host)", health)

	for _, kind := range []string{"pause", "kill"} {
		var on, back []time.Duration
		for i := range 10 {
			j, err := journal.Open(t.TempDir(), journal.Meta{Run: fmt.Sprintf("measure-%s-%d", kind, i)})
			require.NoError(t, err)
			f := kinds.All[kind].New()
			env := faults.Env{Fault: kind, Targets: []targets.Target{tg}, Journal: j, Rand: rand.New(rand.NewPCG(1, 1)), Log: io.Discard}
			start := time.Now()
			require.NoError(t, f.Inject(ctx, env))
			until(func() bool {
				x, err := api.ContainerInspect(ctx, tg.Container)
				require.NoError(t, err)
				return (kind == "pause" && x.State.Paused) || (kind == "kill" && !x.State.Running)
			})
			on = append(on, time.Since(start))
			time.Sleep(300 * time.Millisecond)
			rb := time.Now()
			require.NoError(t, f.Rollback(ctx))
			until(answers)
			back = append(back, time.Since(rb))
			require.NoError(t, j.Close())
		}
		fmt.Printf("%s: fault start → container %s: median %s (min %s, max %s); rollback start → answering again: median %s (min %s, max %s)\n",
			kind, map[string]string{"pause": "paused", "kill": "dead"}[kind], median(on), slices.Min(on), slices.Max(on), median(back), slices.Min(back), slices.Max(back))
	}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
