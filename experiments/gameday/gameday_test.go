package gameday

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/experiments/run"
	"github.com/chaos-sre/chaos/internal/units"
	"github.com/chaos-sre/chaos/verify"
	"github.com/chaos-sre/chaos/verify/report"
)

// fakeRuns answers run.Run with a verdict per experiment name, recording
// what each run was given.
type fakeRuns struct {
	code  map[string]int
	ttr   map[string]float64
	calls []run.Options
	exps  []*experiments.Experiment
}

func (f *fakeRuns) run(_ context.Context, exp *experiments.Experiment, o run.Options) (*report.Report, error) {
	f.calls = append(f.calls, o)
	f.exps = append(f.exps, exp)
	code := f.code[exp.Name]
	rep := &report.Report{Schema: report.Schema, Experiment: exp.Name, Started: time.Now(), Ended: time.Now(), ExitCode: code}
	rep.Verdict = verdict(code)
	rep.Checks = []report.CheckReport{{Name: "breaker opens", Kind: "breaker", Result: verify.Result{Held: code == 0, Measured: "m", Bound: "b"}}}
	if v, ok := f.ttr[exp.Name]; ok {
		s := report.Seconds(v)
		rep.TimeToRecover = &s
	}
	return rep, nil
}

func suiteOf(dir string, names ...string) *experiments.Suite {
	s := &experiments.Suite{Version: experiments.Version, Kind: experiments.SuiteKind, Name: "weekly", File: filepath.Join(dir, "suite.yaml")}
	for _, n := range names {
		e := &experiments.Experiment{Name: n, Stack: experiments.Stack{Local: &experiments.LocalStack{}}}
		s.Experiments = append(s.Experiments, experiments.SuiteEntry{File: n + ".yaml", Experiment: e})
	}
	return s
}

func TestRunStopsAtTheFirstFailureAndNamesIt(t *testing.T) {
	dir := t.TempDir()
	s := suiteOf(dir, "a", "b", "c")
	s.Seed, s.Variant = 40, []string{"no-fallback"}
	f := &fakeRuns{code: map[string]int{"b": run.ExitFailed}}
	res, err := Run(context.Background(), s, Options{Run: f.run, Variant: []string{"no-breaker"}})
	require.NoError(t, err)
	assert.Equal(t, run.ExitFailed, res.ExitCode)
	require.Len(t, res.Reports, 2)
	assert.Equal(t, []NotRun{{Experiment: "c", Reason: "b did not hold and continue_on_failure is off"}}, res.NotRun)
	assert.Equal(t, []string{`b (failed: check "breaker opens" failed)`}, res.Failing())
	assert.Equal(t, int64(40), f.calls[0].Seed)
	assert.Equal(t, int64(41), f.calls[1].Seed)
	assert.Equal(t, []string{"no-breaker"}, f.calls[1].Variant, "the command line's variant wins over the suite's")

	// the dated folder: combined reports on top, one folder per experiment
	assert.Equal(t, filepath.Join(dir, DefaultReportDir), filepath.Dir(res.Dir))
	for _, p := range []string{"result.json", "junit.xml", "summary.md", "report.html", RunFile, "a/report.html", "b/result.json"} {
		assert.FileExists(t, filepath.Join(res.Dir, p))
	}
	entries, err := ReadIndex(filepath.Dir(res.Dir))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, "failed", e.Verdict)
	assert.Equal(t, filepath.Base(res.Dir), e.Dir)
	require.Len(t, e.Experiments, 3)
	assert.Equal(t, []string{"breaker opens"}, e.Experiments[1].Failed)
	assert.Equal(t, "not run", e.Experiments[2].Verdict)
	assert.Equal(t, e.Dir+"/a/report.html", e.Experiments[0].Report)
}

func TestRunContinuesOnFailureWhenAsked(t *testing.T) {
	s := suiteOf(t.TempDir(), "a", "b", "c")
	s.ContinueOnFailure = true
	f := &fakeRuns{code: map[string]int{"a": run.ExitAborted, "b": run.ExitFailed}}
	res, err := Run(context.Background(), s, Options{Run: f.run})
	require.NoError(t, err)
	assert.Len(t, res.Reports, 3)
	assert.Equal(t, run.ExitAborted, res.ExitCode, "the worst of the runs: aborted outranks failed")
	assert.Len(t, res.Failing(), 2)
}

func TestHistoryAppendsAndDrawsTrends(t *testing.T) {
	dir := t.TempDir()
	s := suiteOf(dir, "slow-primary", "hung-replica")
	s.ContinueOnFailure = true
	clock := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	for week, ttr := range []float64{1.5, 4, 2.25} {
		f := &fakeRuns{ttr: map[string]float64{"slow-primary": ttr}, code: map[string]int{}}
		if week == 1 {
			f.code["hung-replica"] = run.ExitFailed
		}
		now := clock.AddDate(0, 0, 7*week)
		res, err := Run(context.Background(), s, Options{Run: f.run, Now: func() time.Time { return now }})
		require.NoError(t, err)
		assert.Equal(t, now.Format("2006-01-02T150405Z"), filepath.Base(res.Dir))
	}
	entries, err := ReadIndex(filepath.Join(dir, DefaultReportDir))
	require.NoError(t, err)
	require.Len(t, entries, 3)
	assert.Equal(t, "failed", entries[1].Verdict)
	page, err := os.ReadFile(filepath.Join(dir, DefaultReportDir, IndexHTML))
	require.NoError(t, err)
	html := string(page)
	assert.Contains(t, html, "2 of 3 runs held")
	assert.Contains(t, html, `<a href="2026-11-16T030000Z/hung-replica/report.html">hung-replica</a>`)
	assert.Contains(t, html, "<polyline", "a time-to-recover trend for slow-primary")
	assert.Contains(t, html, "recovered in 4.0 s")
	assert.Contains(t, html, "2.2 s", "the last time to recover")
	assert.NotContains(t, html, "<script")
	assert.NotContains(t, html, "http://", "the page must not need the network")
	assert.NotContains(t, html, "https://")
}

func TestCooldownGatesOnTheSteadyState(t *testing.T) {
	newSuite := func(within time.Duration) *experiments.Suite {
		s := suiteOf(t.TempDir(), "a", "b")
		for _, e := range s.Experiments {
			e.Experiment.Stack = experiments.Stack{Vars: map[string]string{"gateway": "http://127.0.0.1:1"}}
			e.Experiment.SteadyState = &experiments.SteadyState{For: units.Duration(time.Second)}
		}
		s.Cooldown = &experiments.Cooldown{For: units.Duration(30 * time.Second), Within: units.Duration(within)}
		return s
	}
	t.Run("opens", func(t *testing.T) {
		var slept []time.Duration
		gates := 0
		f := &fakeRuns{code: map[string]int{}}
		res, err := Run(context.Background(), newSuite(time.Minute), Options{Run: f.run,
			Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil },
			Gate: func(context.Context, *experiments.Experiment, run.Options) (bool, string, error) {
				gates++
				return gates == 1 || gates == 4, "p99 2s", nil
			}})
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Len(t, res.Reports, 2)
		assert.Equal(t, 4, gates, "a gate before each experiment")
		assert.Equal(t, []time.Duration{30 * time.Second, time.Second, time.Second}, slept, "no pause before the first")
	})
	t.Run("stays shut", func(t *testing.T) {
		now := time.Now()
		f := &fakeRuns{code: map[string]int{}}
		res, err := Run(context.Background(), newSuite(10*time.Second), Options{Run: f.run,
			Now:   func() time.Time { return now },
			Sleep: func(_ context.Context, d time.Duration) error { now = now.Add(d); return nil },
			Gate: func(context.Context, *experiments.Experiment, run.Options) (bool, string, error) {
				now = now.Add(time.Second)
				return false, "error rate 40%", nil
			}})
		require.NoError(t, err)
		assert.Equal(t, run.ExitFailed, res.ExitCode)
		require.Len(t, res.NotRun, 2)
		assert.Equal(t, "a", res.NotRun[0].Experiment)
		assert.Contains(t, res.NotRun[0].Reason, "the steady state did not hold within 10s")
		assert.Equal(t, "a did not run and continue_on_failure is off", res.NotRun[1].Reason)
		assert.Contains(t, strings.Join(res.Failing(), "\n"), "a (not run: the steady state did not hold within 10s (last: error rate 40%))")
	})
}

func TestWithSuiteAppliesTheSharedStack(t *testing.T) {
	s := &experiments.Suite{File: "/suites/weekly.yaml", Stack: experiments.Stack{Compose: "../compose/docker-compose.yml", Vars: map[string]string{"gateway": "http://gw:8080"}}}
	exp := &experiments.Experiment{Name: "x", Stack: experiments.Stack{Local: &experiments.LocalStack{}, Vars: map[string]string{"other": "1", "gateway": "old"}}}
	got := withSuite(exp, s)
	assert.Nil(t, got.Stack.Local)
	assert.Equal(t, "/compose/docker-compose.yml", got.Stack.Compose)
	assert.Equal(t, map[string]string{"other": "1", "gateway": "http://gw:8080"}, got.Stack.Vars)
	assert.Equal(t, "old", exp.Stack.Vars["gateway"], "the suite's experiment is not changed")
}

// TestWithSuiteAppliesASharedKubernetesStack: a suite's stack.kubernetes
// replaces an experiment's compose stack, its kubeconfig relative to the
// suite; a suite's compose stack replaces an experiment's cluster.
func TestWithSuiteAppliesASharedKubernetesStack(t *testing.T) {
	s := &experiments.Suite{File: "/suites/weekly.yaml", Stack: experiments.Stack{Kubernetes: &experiments.KubeStack{Kubeconfig: "../k8s/kubeconfig", Namespace: "inference"}}}
	exp := &experiments.Experiment{Name: "x", Stack: experiments.Stack{Compose: "docker-compose.yml", Project: "p"}}
	got := withSuite(exp, s)
	assert.Empty(t, got.Stack.Compose)
	assert.Empty(t, got.Stack.Project)
	require.NotNil(t, got.Stack.Kubernetes)
	assert.Equal(t, experiments.KubeStack{Kubeconfig: "/k8s/kubeconfig", Namespace: "inference"}, *got.Stack.Kubernetes)
	assert.Equal(t, "../k8s/kubeconfig", s.Stack.Kubernetes.Kubeconfig, "the suite is not changed")

	back := withSuite(got, &experiments.Suite{File: "/suites/weekly.yaml", Stack: experiments.Stack{Compose: "/c/docker-compose.yml"}})
	assert.Nil(t, back.Stack.Kubernetes)
	assert.Equal(t, "/c/docker-compose.yml", back.Stack.Compose)
}
