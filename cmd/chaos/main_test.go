package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/cmd/chaos/internal/clitest"
	"github.com/chaos-sre/chaos/examples/stack"
)

// TestMain lets the test binary stand in for the chaos binary: with
// CHAOS_TEST_MAIN=1 it runs the CLI, so tests drive real processes and send
// them real signals.
func TestMain(m *testing.M) {
	stack.MaybeRunRole()
	if os.Getenv("CHAOS_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer = clitest.Buffer

// chaosCmd prepares the CLI as a child process: this test binary, which
// runs the CLI with CHAOS_TEST_MAIN=1.
func chaosCmd(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	t.Helper()
	return clitest.Command(t, os.Args[0], []string{"CHAOS_TEST_MAIN=1"}, args...)
}

// chaos runs the CLI to the end and returns its exit code and output.
func chaos(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd, out, errb := chaosCmd(t, args...)
	return clitest.Run(t, cmd, out, errb)
}

func procState(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "gone"
	}
	s := string(b)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	clitest.WaitFor(t, what, cond)
}

// longStop writes an experiment that stops a sleeping child process for a
// minute while load goes to a loopback server.
func longStop(t *testing.T) (file string, pid int) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	sleep := exec.Command("sleep", "300")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pid = sleep.Process.Pid
	file = filepath.Join(t.TempDir(), "stop.yaml")
	require.NoError(t, os.WriteFile(file, []byte(`version: chaos/v1
name: long-stop
load: {url: "`+srv.URL+`/", method: GET, rate: 20/s}
steady_state: {for: 1s, slo: {error_rate: 1%}}
faults:
  - {name: pause, kind: process, target: {pid: `+strconv.Itoa(pid)+`}, params: {signal: STOP}, for: 60s}
`), 0o644))
	return file, pid
}

func TestSIGTERMMidFaultRollsBack(t *testing.T) {
	file, pid := longStop(t)
	state := t.TempDir()
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", state, "--seed", "3")
	require.NoError(t, cmd.Start())
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })
	require.Equal(t, "T", procState(pid), "the target is stopped while the fault is on")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, errb.String())
	assert.Equal(t, 3, ee.ExitCode(), "exit 3: aborted")
	assert.Contains(t, errb.String(), "every fault was rolled back")
	assert.NotEqual(t, "T", procState(pid), "SIGCONT was sent on SIGTERM")
	left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	assert.Empty(t, left, "nothing left for recover")
}

func TestKilledRunIsUndoneByRecover(t *testing.T) {
	file, pid := longStop(t)
	state := t.TempDir()
	cmd, _, errb := chaosCmd(t, "run", file, "--state-dir", state)
	require.NoError(t, cmd.Start())
	waitFor(t, "the fault to be injected", func() bool { return strings.Contains(errb.String(), "sent SIGSTOP") })
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()
	assert.Equal(t, "T", procState(pid), "kill -9 leaves the fault behind")
	left, _ := filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	require.Len(t, left, 1, "the journal stays for recover")

	code, out, stderr := chaos(t, "run", file, "--state-dir", state, "--dry-run")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "unfinished journal")
	_ = out

	code, out, stderr = chaos(t, "recover", "--state-dir", state)
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "undid pause")
	assert.NotEqual(t, "T", procState(pid), "recover sent SIGCONT")
	left, _ = filepath.Glob(filepath.Join(state, "journal", "*.jsonl"))
	assert.Empty(t, left)

	code, out, _ = chaos(t, "recover", "--state-dir", state)
	assert.Equal(t, 0, code, "recover twice is harmless")
	assert.Contains(t, out, "nothing left to undo (0 undone")
}

func TestCommandLineErrorsAreExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"run", "--nope", "x.yaml"}, "unknown flag"},
		{"missing file", []string{"run", "does-not-exist.yaml"}, "does-not-exist.yaml"},
		{"bad output", []string{"run", "-o", "xml", "x.yaml"}, `--output "xml" is not valid (valid: text, json)`},
		{"bad variant", []string{"demo", "--variant", "no-brakes"}, `--variant "no-brakes" is not valid`},
		{"unknown command", []string{"explode"}, "unknown command"},
		{"validate nothing", []string{"validate"}, "requires at least 1 arg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := chaos(t, tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, stderr, tc.want)
			assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one clear line: %q", stderr)
		})
	}
}

func TestValidateMalformedExperiments(t *testing.T) {
	files, err := filepath.Glob("../../experiments/testdata/invalid/*.yaml")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, _, stderr := chaos(t, "validate", f)
			assert.Equal(t, 2, code)
			assert.Regexp(t, `(?m)^`+regexpQuote(f)+`:\d+:\d+: `, stderr)
		})
	}
	code, out, _ := chaos(t, "validate", "../../examples/experiments")
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "slow-primary.yaml: valid")
}

func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "/", `/`, "-", `\-`, "+", `\+`).Replace(s)
}

func TestFaultsListsEveryKindWithDefaults(t *testing.T) {
	code, out, _ := chaos(t, "faults")
	require.Equal(t, 0, code)
	for _, want := range []string{"process —", "latency —", "http-error —", "flood —", "delay", "default 1s", "status", "default 503", "signal"} {
		assert.Contains(t, out, want)
	}
}

func TestSchemaIsJSON(t *testing.T) {
	code, out, _ := chaos(t, "schema")
	require.Equal(t, 0, code)
	assert.Contains(t, out, `"$schema"`)
	assert.Contains(t, out, `"steady_state"`)
}

func TestVersionAndCompletion(t *testing.T) {
	code, out, _ := chaos(t, "version")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "chaos/v1")
	code, out, _ = chaos(t, "completion", "bash")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "bash completion")
}
