//go:build unix

package haproxy

// The end-to-end tests in this file start run.sh (HAProxy in front of two
// example models, on free loopback ports), run `chaos run` on each
// experiment of this folder against haproxy.cfg (exit 0) and
// haproxy-broken.cfg (exit 1, with the checks that must fail named), and stop
// everything in t.Cleanup, also when they fail. Without haproxy they skip;
// with CHAOS_REQUIRE_DOCKER=1 (as .ci/run sets) they fail instead.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// modelName is the primary model's process name (its binary's name, see
// run.sh); the experiments target it with `process: hapx-primary`.
const modelName = "hapx-primary"

// The ports the experiments are written for; the tests swap in free ones.
const (
	gatewayPort = "18480"
	statsPort   = "18481"
)

// experimentCase is one experiment and the checks that must fail on the
// broken configuration.
type experimentCase struct {
	file       string
	failBroken []string
}

var cases = []experimentCase{
	{"hung-primary.yaml", []string{"primary marked down", "backup answers", "answers keep coming"}},
	{"crashed-primary.yaml", []string{"primary marked down", "backup answers", "no errors"}},
}

// needHAProxy skips (or, with CHAOS_REQUIRE_DOCKER=1, fails) when haproxy
// or its Prometheus exporter is missing.
func needHAProxy(t *testing.T) {
	t.Helper()
	required := os.Getenv("CHAOS_REQUIRE_DOCKER") == "1"
	why := ""
	if _, err := exec.LookPath("haproxy"); err != nil {
		why = "haproxy is not installed (apt-get install haproxy)"
	} else if out, err := exec.Command("haproxy", "-vv").CombinedOutput(); err != nil {
		why = fmt.Sprintf("haproxy -vv: %v", err)
	} else if !strings.Contains(string(out), "prometheus-exporter") {
		why = "this haproxy is built without the Prometheus exporter (USE_PROMEX)"
	}
	switch {
	case why != "" && required:
		t.Fatalf("CHAOS_REQUIRE_DOCKER=1 but %s", why)
	case why != "":
		t.Skipf("%s; set CHAOS_REQUIRE_DOCKER=1 to make this a failure", why)
	case testing.Short() && !required:
		t.Skip("the HAProxy end-to-end tests take about a minute")
	}
}

// bins are the chaos and model binaries, built once per test binary.
var bins struct {
	once         sync.Once
	dir          string
	chaos, model string
	err          error
}

func build(t *testing.T) (chaos, model string) {
	t.Helper()
	bins.once.Do(func() {
		bins.dir, bins.err = os.MkdirTemp("", "chaos-haproxy-bin")
		if bins.err != nil {
			return
		}
		bins.chaos, bins.model = filepath.Join(bins.dir, "chaos"), filepath.Join(bins.dir, "model")
		for _, b := range [][2]string{{bins.chaos, "../../cmd/chaos"}, {bins.model, "../cmd/model"}} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			out, err := exec.CommandContext(ctx, "go", "build", "-o", b[0], b[1]).CombinedOutput()
			cancel()
			if err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", b[1], err, out)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
	return bins.chaos, bins.model
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// line is one line HAProxy or run.sh wrote, with the time it was read.
type line struct {
	at   time.Time
	text string
}

// stack is one run.sh started for a test.
type stack struct {
	t              *testing.T
	cfg            string
	cmd            *exec.Cmd
	gateway, stats string // ports
	dir            string // experiments rewritten to the ports, state, run dir
	chaos          string
	done           chan struct{}

	mu     sync.Mutex
	stdout []line // HAProxy's log
	stderr []line // run.sh and the models
}

// startStack runs run.sh with the configuration cfg on free ports in its own
// process group and waits until the gateway answers from the primary.
func startStack(t *testing.T, cfg string) *stack {
	t.Helper()
	chaos, model := build(t)
	if pids := procsNamed(modelName); len(pids) > 0 {
		t.Fatalf("a %s process is already running (pid %v), so `process: %s` would be ambiguous: stop the other run.sh first", modelName, pids, modelName)
	}
	s := &stack{t: t, cfg: cfg, dir: t.TempDir(), chaos: chaos, done: make(chan struct{}),
		gateway: freePort(t), stats: freePort(t)}
	s.cmd = exec.Command("bash", "run.sh", cfg)
	s.cmd.Env = append(os.Environ(), "GATEWAY_PORT="+s.gateway, "STATS_PORT="+s.stats,
		"PRIMARY_PORT="+freePort(t), "FALLBACK_PORT="+freePort(t),
		"MODEL_BIN="+model, "RUN_DIR="+filepath.Join(s.dir, "run"))
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start run.sh %s: %v", cfg, err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go s.read(stdout, &s.stdout, &wg)
	go s.read(stderr, &s.stderr, &wg)
	go func() { wg.Wait(); s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.stop)
	if err := os.Mkdir(filepath.Join(s.dir, "leases"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.waitPrimary()
	return s
}

func (s *stack) read(r io.Reader, into *[]line, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.mu.Lock()
		*into = append(*into, line{time.Now(), sc.Text()})
		s.mu.Unlock()
	}
}

// stop sends SIGTERM to run.sh's process group (haproxy, the supervisors,
// the models), then SIGKILL after 5 s, and checks no model is left; then
// `chaos recover` undoes whatever a failed run left behind.
func (s *stack) stop() {
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGCONT) // a stopped model cannot handle TERM
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.t.Errorf("run.sh %s did not stop within 5s of SIGTERM; killing it", s.cfg)
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-s.done
	}
	if code, out, errs := s.run(30*time.Second, "recover", "--state-dir", s.state()); code != 0 {
		s.t.Errorf("chaos recover: exit %d\n%s%s", code, out, errs)
	}
	deadline := time.Now().Add(3 * time.Second)
	for len(procsNamed(modelName)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pids := procsNamed(modelName); len(pids) > 0 {
		s.t.Errorf("%s left running after run.sh stopped: %v", modelName, pids)
	}
	if s.t.Failed() {
		s.t.Logf("run.sh %s stderr:\n%s\nHAProxy log:\n%s", s.cfg, s.text(&s.stderr), s.text(&s.stdout))
	}
}

func (s *stack) text(ls *[]line) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, l := range *ls {
		fmt.Fprintf(&b, "%s %s\n", l.at.Format("15:04:05.000"), l.text)
	}
	return b.String()
}

func (s *stack) state() string { return filepath.Join(s.dir, "state") }

// waitPrimary waits until the gateway answers 200 from the primary (not
// degraded): the stack is up, or back after an experiment.
func (s *stack) waitPrimary() {
	s.t.Helper()
	body := `{"model":"primary","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second) // a loaded CI machine is slow to start processes
	for {
		select {
		case <-s.done:
			s.t.Fatalf("run.sh %s exited:\n%s", s.cfg, s.text(&s.stderr))
		default:
		}
		resp, err := c.Post("http://127.0.0.1:"+s.gateway+"/v1/chat/completions", "application/json", strings.NewReader(body))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && resp.Header.Get("X-Degraded") == "" {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the gateway on port %s did not answer from the primary within 60s (last: %v)\n%s", s.gateway, err, s.text(&s.stderr))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// experiment writes the experiment file with the stack's ports in place of
// the ones it is written for, and returns its path.
func (s *stack) experiment(name string) string {
	s.t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		s.t.Fatal(err)
	}
	text := strings.NewReplacer("127.0.0.1:"+gatewayPort, "127.0.0.1:"+s.gateway, "127.0.0.1:"+statsPort, "127.0.0.1:"+s.stats).Replace(string(b))
	p := filepath.Join(s.dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// run runs chaos with args, bounded by limit; it returns the exit code,
// stdout and stderr.
func (s *stack) run(limit time.Duration, args ...string) (code int, stdout, stderr string) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.chaos, args...)
	cmd.Env = append(os.Environ(), "CHAOS_STATE_DIR="+s.state(), "CHAOS_LEASE_DIR="+filepath.Join(s.dir, "leases"), "CI=true")
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("chaos %v: %v", args, err)
	}
	if ctx.Err() != nil {
		s.t.Fatalf("chaos %v did not finish within %s\n%s", args, limit, errb.String())
	}
	return code, string(out), errb.String()
}

// result is the part of `chaos run -o json` these tests read.
type result struct {
	Started  time.Time `json:"started"`
	ExitCode int       `json:"exit_code"`
	Phases   struct {
		RollbackS float64 `json:"rollback_s"`
	} `json:"phases"`
	Checks []struct {
		Name          string   `json:"name"`
		Kind          string   `json:"kind"`
		Held          bool     `json:"held"`
		Status        string   `json:"status"` // "inconclusive" when chaos was starved in its window
		Measured      string   `json:"measured"`
		TimeToRecover *float64 `json:"time_to_recover_s"`
	} `json:"checks"`
}

// tries is how often an experiment is run when its steady state failed or
// it was inconclusive (exit 5: chaos itself was starved): either says the
// machine was busy (tests of other packages share its two cores), not how
// the gateway copes.
const tries = 3

// runExperiment runs one experiment with -o json and returns the exit code
// (0 or 1) and the decoded result; a run whose steady state failed, or that
// was inconclusive, is run again.
func (s *stack) runExperiment(name string) (int, result) {
	s.t.Helper()
	for try := 1; ; try++ {
		s.waitPrimary()
		code, out, errs := s.run(2*time.Minute, "run", s.experiment(name), "-q", "-o", "json")
		var r result
		if code != 0 && code != 1 && code != exitInconclusive {
			s.t.Fatalf("chaos run %s (%s): exit %d, want 0 or 1\n%s", name, s.cfg, code, errs)
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			s.t.Fatalf("chaos run %s (%s): exit %d, stdout is not a result: %v\n%s%s", name, s.cfg, code, err, out, errs)
		}
		if r.ExitCode != code {
			s.t.Errorf("chaos run %s: exit %d but the result says %d", name, code, r.ExitCode)
		}
		busy := code == exitInconclusive || slices.Contains(r.failed(), "steady state")
		switch {
		case !busy:
			return code, r
		case try == tries && code == exitInconclusive:
			s.t.Fatalf("chaos run %s (%s): inconclusive (exit 5) %d times: chaos itself was starved; the machine is too busy\n%s%s", name, s.cfg, tries, r, errs)
		case try == tries:
			return code, r
		}
		s.t.Logf("chaos run %s (%s): exit %d, nothing judged (steady state failed or chaos was starved); running it again (try %d of %d)\n%s%s", name, s.cfg, code, try+1, tries, r, errs)
		time.Sleep(2 * time.Second)
	}
}

// exitInconclusive is chaos's exit code when no check failed but some could
// not be judged because chaos itself was starved.
const exitInconclusive = 5

// failed names the checks that failed (not the inconclusive ones).
func (r result) failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.Held && c.Status != "inconclusive" {
			out = append(out, c.Name)
		}
	}
	return out
}

func (r result) String() string {
	var b strings.Builder
	for _, c := range r.Checks {
		v := "held  "
		switch {
		case c.Status == "inconclusive":
			v = "INCONC"
		case !c.Held:
			v = "FAILED"
		}
		fmt.Fprintf(&b, "  %s %-20s %s\n", v, c.Name, c.Measured)
	}
	return b.String()
}

// TestHAProxyExperiments runs every experiment of this folder against the
// working gateway (exit 0, and time-to-recover within 0.25 s of when HAProxy
// logged the primary up) and the broken one (exit 1, the checks that need
// health checks and the backup named as failed).
func TestHAProxyExperiments(t *testing.T) {
	needHAProxy(t)
	t.Run("haproxy.cfg", func(t *testing.T) {
		s := startStack(t, "haproxy.cfg")
		for _, c := range cases {
			code, r := s.runExperiment(c.file)
			t.Logf("%s against haproxy.cfg: exit %d\n%s", c.file, code, r)
			if code != 0 {
				t.Errorf("%s against haproxy.cfg: exit %d, want 0; failed: %q", c.file, code, r.failed())
				continue
			}
			t.Run(c.file+" time-to-recover agrees with HAProxy's log within 0.25s", func(t *testing.T) {
				ttrMatchesLog(t, s, r)
			})
		}
	})
	t.Run("haproxy-broken.cfg", func(t *testing.T) {
		s := startStack(t, "haproxy-broken.cfg")
		for _, c := range cases {
			code, r := s.runExperiment(c.file)
			t.Logf("%s against haproxy-broken.cfg: exit %d\n%s", c.file, code, r)
			if code != 1 {
				t.Errorf("%s against haproxy-broken.cfg: exit %d, want 1", c.file, code)
			}
			failed := r.failed()
			for _, name := range c.failBroken {
				if !slices.Contains(failed, name) {
					t.Errorf("%s against haproxy-broken.cfg: check %q held, want it failed (failed: %q)", c.file, name, failed)
				}
			}
		}
	})
}

// ttrTolerance is how far chaos's time-to-recover may be from HAProxy's.
const ttrTolerance = 250 * time.Millisecond

// ttrMatchesLog is the crossing test of "time-to-recover agrees with the
// gateway's log within 0.25 s": chaos's recover check measures it from the
// load it sends, HAProxy logs when its health checks put the primary back
// ("Server models/primary is UP"); both count from rollback_s.
func ttrMatchesLog(t *testing.T, s *stack, r result) {
	var ttr *float64
	for _, ch := range r.Checks {
		if ch.Kind == "recover" {
			ttr = ch.TimeToRecover
		}
	}
	if ttr == nil {
		t.Fatalf("no recover check with time_to_recover_s\n%s", r)
	}
	rollback := r.Started.Add(time.Duration(r.Phases.RollbackS * float64(time.Second)))
	ups, downs := s.serverChanges(t)
	var up time.Time
	for _, u := range ups {
		if u.After(rollback) {
			up = u
			break
		}
	}
	if up.IsZero() {
		t.Fatalf("HAProxy logged no \"Server models/primary is UP\" after the rollback at %s (UP at %v, DOWN at %v)",
			rollback.Format(time.RFC3339Nano), ups, downs)
	}
	logged := up.Sub(rollback)
	chaosTTR := time.Duration(*ttr * float64(time.Second))
	diff := time.Duration(math.Abs(float64(chaosTTR - logged)))
	t.Logf("rollback %s, HAProxy UP %s (+%s), chaos time_to_recover_s %.3f: %s apart",
		rollback.Format("15:04:05.000000"), up.Format("15:04:05.000000"), logged.Round(time.Millisecond), *ttr, diff.Round(time.Millisecond))
	if diff > ttrTolerance {
		t.Errorf("chaos measured time-to-recover %s, HAProxy put the primary back %s after rollback: %s apart, want ≤ %s",
			chaosTTR, logged.Round(time.Millisecond), diff.Round(time.Millisecond), ttrTolerance)
	}
}

// stateChange matches HAProxy's log line (RFC 5424) of the primary going
// down or up, and captures its timestamp.
var stateChange = regexp.MustCompile(`^<\d+>1 (\S+) .*Server models/primary is (UP|DOWN)`)

// serverChanges returns the primary's state changes HAProxy logged, with
// HAProxy's own timestamps.
func (s *stack) serverChanges(t *testing.T) (ups, downs []time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.stdout {
		m := stateChange.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Errorf("HAProxy log line with an unreadable time %q: %v", m[1], err)
			continue
		}
		if m[2] == "UP" {
			ups = append(ups, at)
		} else {
			downs = append(downs, at)
		}
	}
	return ups, downs
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// procsNamed lists the pids whose /proc/PID/comm is name, zombies included
// (as chaos's process targets count them).
func procsNamed(name string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil || strings.TrimSpace(string(b)) != name {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		out = append(out, pid)
	}
	return out
}
