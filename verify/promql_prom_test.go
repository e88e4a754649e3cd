package verify_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/stack"
	"github.com/chaos-sre/chaos/experiments"
	"github.com/chaos-sre/chaos/experiments/run"
)

// TestMain lets the example stack re-execute this test binary as its model
// and gateway processes.
func TestMain(m *testing.M) {
	stack.MaybeRunRole()
	os.Exit(m.Run())
}

// prometheusBin finds Debian's prometheus: a test that needs it skips
// without it, or fails when CHAOS_REQUIRE_DOCKER=1 (CI: .ci/run installs it).
func prometheusBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CHAOS_REQUIRE_DOCKER") == "1" {
			t.Fatal("prometheus is not installed (apt-get install prometheus; CHAOS_REQUIRE_DOCKER=1 says this test must run)")
		}
		t.Skip("prometheus is not installed (apt-get install prometheus)")
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startPrometheus runs a real Prometheus server scraping target every
// second, on a free loopback port with its storage in a temp folder, and
// returns its URL once it has scraped the target.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: gateway
    static_configs: [{targets: [%q]}]
`, target)), 0o644))
	addr := freePort(t)
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logb strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &logb
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	u := "http://" + addr
	ok := assert.Eventually(t, func() bool {
		r, err := http.Get(u + `/api/v1/query?query=up%7Bjob%3D%22gateway%22%7D%3D%3D1`)
		if err != nil {
			return false
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode == 200 && strings.Contains(string(b), `"job":"gateway"`)
	}, 30*time.Second, 200*time.Millisecond, "prometheus did not scrape the gateway")
	if !ok {
		t.Fatalf("prometheus log:\n%s", logb.String())
	}
	return u
}

// hungPrimaries is a slow-primary experiment against a running stack: both
// primary replicas hang (SIGSTOP) for 8 s, and promql checks ask Prometheus
// whether the gateway's breaker opened.
const hungPrimaries = `version: chaos/v1
name: hung-primaries-trip-breaker
stack:
  vars: {gateway: "%s", prometheus: "%s"}
load:
  url: ${gateway}/v1/chat/completions
  body: {model: primary, stream: true, max_tokens: 8, messages: [{role: user, content: hi}]}
  rate: 20/s
  timeout: 5s
steady_state: {for: 3s, slo: {error_rate: 5%%}}
faults:
  - {name: hung-primary-0, kind: process, target: {pid: %d}, params: {signal: STOP}, for: 8s}
  - {name: hung-primary-1, kind: process, target: {pid: %d}, params: {signal: STOP}, for: 8s}
checks:
  - name: breaker open per prometheus
    kind: promql
    during: hung-primary-0
    url: ${prometheus}
    query: max_over_time(gateway_breaker_state{upstream="primary"}[${window}])
    min: 1
  - name: breaker open over the range
    kind: promql
    during: hung-primary-0
    url: ${prometheus}
    query: gateway_breaker_state{upstream="primary"}
    mode: range
    reduce: max
    min: 1
`

func TestPromQLAgainstRealPrometheus(t *testing.T) {
	bin := prometheusBin(t)
	for _, tc := range []struct {
		variant []string
		held    bool
	}{{nil, true}, {[]string{"no-breaker"}, false}} {
		name := "resilient"
		if tc.variant != nil {
			name = tc.variant[0]
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			st, err := stack.Start(ctx, stack.Options{Variant: tc.variant})
			require.NoError(t, err)
			t.Cleanup(func() { _ = st.Stop() })
			var pids []any
			for _, p := range st.Procs {
				if p.Service == "model-primary" {
					pids = append(pids, p.Pid())
				}
			}
			require.Len(t, pids, 2)
			prom := startPrometheus(t, bin, st.Gateway.Addr)
			src := fmt.Sprintf(hungPrimaries, append([]any{st.Gateway.URL(), prom}, pids...)...)
			exp, err := experiments.Parse("hung-primaries.yaml", []byte(src), experiments.DefaultRegistry())
			require.NoError(t, err)
			rep, err := run.Run(ctx, exp, run.Options{StateDir: t.TempDir(), Seed: 1})
			if tc.held {
				require.NoError(t, err)
			}
			require.Len(t, rep.Checks, 2, "%+v", rep)
			for _, c := range rep.Checks {
				assert.Equal(t, tc.held, c.Held, "%s: measured %s, bound %s: %s", c.Name, c.Measured, c.Bound, c.Reason)
				assert.Contains(t, c.Measured, `gateway_breaker_state{upstream="primary"}`)
			}
			if tc.held {
				assert.Equal(t, run.ExitHeld, rep.ExitCode)
				assert.Regexp(t, `\[\d+s\]\) = [12]`, rep.Checks[0].Measured, "${window} became the fault's length")
			} else {
				assert.Equal(t, run.ExitFailed, rep.ExitCode, "error: %v", err)
				assert.Contains(t, rep.Checks[0].Reason, "is 0 < 1")
			}
		})
	}
}
