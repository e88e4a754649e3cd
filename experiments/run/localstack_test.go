package run

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/faults/targets"
)

// fakeStacks starts a "stack" of one backend (an httptest server) behind
// the engine's interposed proxy, and records what it was asked.
type fakeStacks struct {
	spec    StackSpec
	stopped int
	backend *httptest.Server
}

func (f *fakeStacks) Variants() []string { return []string{"no-breaker"} }

func (f *fakeStacks) Start(_ context.Context, spec StackSpec) (LocalStack, error) {
	f.spec = spec
	dial, err := spec.Interpose("backend-0", f.backend.Listener.Addr().String())
	if err != nil {
		return nil, err
	}
	return fakeStack{f: f, dial: dial}, nil
}

type fakeStack struct {
	f    *fakeStacks
	dial string // the proxy in front of the backend
}

func (s fakeStack) Vars() map[string]string {
	return map[string]string{"gateway": "http://" + s.dial, "backend-0": s.f.backend.URL}
}

func (s fakeStack) Processes() []StackProcess {
	return []StackProcess{{Name: "backend-0", Service: "backend", Addr: s.f.backend.Listener.Addr().String(),
		Pid: func() int { return 42 }, Restart: func(context.Context) error { return nil }}}
}

func (s fakeStack) Stop() error { s.f.stopped++; return nil }

func localExperiment(t *testing.T, variant string) *experiments.Experiment {
	t.Helper()
	exp := parse(t, `version: chaos/v1
name: local
stack: {local: {primaries: 1, variant: [`+variant+`]}}
load: {url: "${gateway}/", method: GET, rate: 10/s}
faults: [{name: f, kind: process, target: {service: backend}, params: {signal: STOP}, for: 1s}]
`)
	return exp
}

// TestLocalStackThroughStacks: the engine asks the plugged-in Stacks for
// stack.local, puts a fault proxy in front of each backend it is told of,
// takes the stack's ${vars} and processes as targets, and stops it.
func TestLocalStackThroughStacks(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(backend.Close)
	f := &fakeStacks{backend: backend}
	exp := localExperiment(t, "no-breaker")
	w, err := prepare(context.Background(), exp, "t", Options{Stacks: f})
	require.NoError(t, err)
	assert.Equal(t, 1, f.spec.Primaries)
	assert.Equal(t, []string{"no-breaker"}, f.spec.Variant)
	assert.NotNil(t, f.spec.Log)

	ts, err := w.resolver.Resolve(context.Background(), targets.Spec{Service: "backend"})
	require.NoError(t, err)
	require.Len(t, ts, 1)
	assert.Equal(t, 42, ts[0].Pid)
	assert.NotNil(t, ts[0].Proxy, "the backend is behind a fault proxy")
	require.Len(t, w.started, 1)
	assert.Contains(t, w.started[0], "backend-0 "+backend.Listener.Addr().String()+" (pid 42) behind proxy ")

	resp, err := http.Get(w.expand("${gateway}/"))
	require.NoError(t, err, "${gateway} is the stack's, through the proxy")
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	assert.Equal(t, "ok", string(body))

	require.NoError(t, w.close())
	assert.Equal(t, 1, f.stopped)
	_, err = http.Get(w.expand("${gateway}/"))
	assert.Error(t, err, "the proxy is closed with the stack")
}

// TestLocalStackRefusals: no Stacks plugged in is a preflight failure
// (exit 4) that says what works instead; a variant the stack does not know
// is invalid (exit 2) and never reaches Start.
func TestLocalStackRefusals(t *testing.T) {
	rep, err := Run(context.Background(), localExperiment(t, "no-breaker"), Options{Seed: 1, StateDir: t.TempDir()})
	require.Error(t, err)
	assert.Equal(t, ExitTool, rep.ExitCode)
	assert.True(t, errors.Is(err, errNoStacks), "%v", err)
	assert.Contains(t, err.Error(), "stack.compose or stack.vars")

	f := &fakeStacks{}
	rep, err = Run(context.Background(), localExperiment(t, "no-brakes"), Options{Seed: 1, StateDir: t.TempDir(), Stacks: f})
	require.Error(t, err)
	assert.Equal(t, ExitInvalid, rep.ExitCode)
	assert.True(t, strings.Contains(err.Error(), `unknown variant "no-brakes" (valid: no-breaker)`), "%v", err)
	assert.Zero(t, f.spec.Primaries, "Start is not called")
}
