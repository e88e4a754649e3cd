package verify

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chaos-sre/chaos/internal/units"
)

// DefaultCommandTimeout bounds a command check's program.
const DefaultCommandTimeout = 10 * time.Second

// CommandCheck runs a program once, at the end of its window, and judges
// its exit status and output. Run is an argv list (no shell; write
// [sh, -c, "…"] for one).
type CommandCheck struct {
	Run        []string       `yaml:"run" jsonschema:"description=program and arguments e.g. [curl -fsS http://localhost:8080/healthz]"`
	ExpectExit int            `yaml:"expect_exit,omitempty" jsonschema:"description=expected exit status,default=0"`
	Timeout    units.Duration `yaml:"timeout,omitempty" jsonschema:"description=how long the program may run,default=10s"`
	Contains   string         `yaml:"contains,omitempty" jsonschema:"description=a substring stdout must contain"`

	st *commandState // created on first use
}

// commandState is a CommandCheck's one run.
type commandState struct {
	bg     background
	mu     sync.Mutex
	ran    bool
	result Result
}

var (
	_ Check   = (*CommandCheck)(nil)
	_ Sampler = (*CommandCheck)(nil)
)

// Validate requires a program.
func (c *CommandCheck) Validate() []units.Problem {
	var ps []units.Problem
	if len(c.Run) == 0 || c.Run[0] == "" {
		ps = append(ps, units.Problemf("run", "is empty; want a program and its arguments, e.g. [curl, -fsS, ${gateway}/healthz]"))
	}
	if c.ExpectExit < 0 || c.ExpectExit > 255 {
		ps = append(ps, units.Problemf("expect_exit", "%d is not an exit status (valid: 0 to 255)", c.ExpectExit))
	}
	return ps
}

// Sample runs the program, once, at the first sample at or after the end of
// the planned window.
func (c *CommandCheck) Sample(ctx context.Context, now time.Time, w Window) {
	if w.To.IsZero() || now.Before(w.To) {
		return
	}
	if st := lazy(&c.st); st.claim() {
		st.bg.start(now, 0, func() { st.store(c.exec(ctx)) })
	}
}

// Evaluate returns the result of the run Sample started, or runs the
// program now if it never ran.
func (c *CommandCheck) Evaluate(ctx context.Context, _ Evidence) Result {
	st := lazy(&c.st)
	if st.claim() {
		st.store(c.exec(ctx))
	}
	st.bg.wait()
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.result
}

// claim says whether the caller is the first to run the program.
func (st *commandState) claim() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	first := !st.ran
	st.ran = true
	return first
}

func (st *commandState) store(r Result) {
	st.mu.Lock()
	st.result = r
	st.mu.Unlock()
}

// exec runs the program and judges it.
func (c *CommandCheck) exec(ctx context.Context) Result {
	bound := fmt.Sprintf("exit %d", c.ExpectExit)
	if c.Contains != "" {
		bound += fmt.Sprintf(", stdout contains %q", c.Contains)
	}
	if len(c.Run) == 0 {
		return failed("", bound, "no program to run")
	}
	timeout := cmp.Or(c.Timeout.D(), DefaultCommandTimeout)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, c.Run[0], c.Run[1:]...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second // a grandchild holding stdout open must not hang the check
	start := time.Now()
	err := cmd.Run()
	took := fmtDur(time.Since(start))
	prog := strings.Join(c.Run, " ")
	var exit *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return failed("timed out", bound, "%s did not finish within %s; stderr %s", prog, timeout, quote(stderr.Bytes()))
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		// judged below
	case err != nil:
		return failed("no exit status", bound, "%s: %v", prog, err)
	}
	code := cmd.ProcessState.ExitCode()
	measured := fmt.Sprintf("exit %d after %s", code, took)
	if code != c.ExpectExit {
		return failed(measured, bound, "%s exited %d, want %d; stderr %s", prog, code, c.ExpectExit, quote(stderr.Bytes()))
	}
	if c.Contains != "" && !strings.Contains(stdout.String(), c.Contains) {
		return failed(measured, bound, "%s stdout lacks %q: %s", prog, c.Contains, quote(stdout.Bytes()))
	}
	return held(measured, bound)
}
