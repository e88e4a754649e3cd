// Package stack starts the example inference stack (primary model
// replicas, a fallback model, the gateway) as local processes on loopback
// with ephemeral ports, and stops everything it started. The processes are
// the calling binary itself, re-executed with CHAOS_STACK_ROLE set: every
// binary that uses the launcher (a command, or a test binary through
// TestMain) calls MaybeRunRole first thing.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/model"
)

const roleEnv = "CHAOS_STACK_ROLE"

// MaybeRunRole runs the model or gateway program and exits when the
// environment variable CHAOS_STACK_ROLE is "model" or "gateway" (the
// launcher re-executes its own binary that way); otherwise it returns.
func MaybeRunRole() {
	role := os.Getenv(roleEnv)
	if role == "" {
		return
	}
	mains := map[string]func(context.Context, []string, io.Writer, io.Writer) int{
		"model": model.Main, "gateway": gateway.Main}
	run, ok := mains[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "%s=%q: want model or gateway\n", roleEnv, role)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Options say what to start.
type Options struct {
	Primaries    int      // primary replicas, default 2
	Variant      []string // gateway variants without dashes: "no-breaker", …; unknown ones are an error
	GatewayArgs  []string // extra gateway flags (after the launcher's, so they win)
	PrimaryArgs  []string // extra flags for every primary model
	FallbackArgs []string // extra flags for the fallback model
	// Interpose is called for each model Proc once healthy; it returns the
	// host:port the gateway must dial instead (a fault proxy in front). Nil
	// means direct.
	Interpose    func(p *Proc) (string, error)
	Exe          string        // binary to re-exec; default os.Executable()
	Log          io.Writer     // children's stdout and stderr, line-prefixed; default io.Discard
	StartTimeout time.Duration // per process, default 10s
}

// Stack is a running stack.
type Stack struct {
	Gateway *Proc
	Procs   []*Proc // all of them, models first

	timeout  time.Duration
	stopOnce sync.Once
	stopped  chan struct{}
	mu       sync.Mutex // serialises Restart and Stop
}

// Start launches the primaries and the fallback, then the gateway dialing
// their (possibly interposed) addresses, each waited for until /healthz
// answers. On any failure it stops what it started and returns an error that
// names the process and why, with its last log lines. Cancelling ctx stops
// the stack.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Primaries == 0 {
		o.Primaries = 2
	}
	if o.Primaries < 0 {
		return nil, fmt.Errorf("stack: primaries %d: must be positive", o.Primaries)
	}
	for _, v := range o.Variant {
		if !slices.Contains(gateway.Variants(), v) {
			return nil, fmt.Errorf("stack: unknown gateway variant %q (valid: %s)", v, strings.Join(gateway.Variants(), ", "))
		}
	}
	if o.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("stack: find own executable: %w", err)
		}
		o.Exe = exe
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 10 * time.Second
	}
	s := &Stack{timeout: o.StartTimeout, stopped: make(chan struct{})}
	newProc := func(service, role string, i int, args ...string) *Proc {
		return &Proc{Service: service, Index: i, Name: service + "-" + strconv.Itoa(i), role: role, exe: o.Exe,
			log: o.Log, Args: append([]string{"--listen", "127.0.0.1:0"}, args...)}
	}
	for i := range o.Primaries {
		s.Procs = append(s.Procs, newProc("model-primary", "model", i,
			append([]string{"--name", "primary"}, o.PrimaryArgs...)...))
	}
	s.Procs = append(s.Procs, newProc("model-fallback", "model", 0, append([]string{"--name", "fallback",
		"--ttft", "20ms", "--token-delay", "2ms"}, o.FallbackArgs...)...))
	var primaries []string
	var fallback string
	for _, p := range s.Procs {
		if err := p.start(ctx, o.StartTimeout); err != nil {
			s.stopAll()
			return nil, fmt.Errorf("stack: %w", err)
		}
		dial := p.Addr
		if o.Interpose != nil {
			d, err := o.Interpose(p)
			if err != nil {
				s.stopAll()
				return nil, fmt.Errorf("stack: interpose in front of %s: %w", p.Name, err)
			}
			dial = d
		}
		if p.Service == "model-primary" {
			primaries = append(primaries, dial)
		} else {
			fallback = dial
		}
	}
	gargs := []string{"--primary", strings.Join(primaries, ","), "--fallback", fallback}
	for _, v := range o.Variant {
		gargs = append(gargs, "--"+v)
	}
	s.Gateway = newProc("gateway", "gateway", 0, append(gargs, o.GatewayArgs...)...)
	s.Procs = append(s.Procs, s.Gateway)
	if err := s.Gateway.start(ctx, o.StartTimeout); err != nil {
		s.stopAll()
		return nil, fmt.Errorf("stack: %w", err)
	}
	go func() {
		select {
		case <-ctx.Done():
			_ = s.Stop()
		case <-s.stopped:
		}
	}()
	return s, nil
}

// Find returns the processes whose Name or Service is nameOrService.
func (s *Stack) Find(nameOrService string) []*Proc {
	var out []*Proc
	for _, p := range s.Procs {
		if p.Name == nameOrService || p.Service == nameOrService {
			out = append(out, p)
		}
	}
	return out
}

// Restart starts p again on the same Addr (killing it first if it is still
// alive) and waits until it is healthy.
func (s *Stack) Restart(ctx context.Context, p *Proc) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stopped:
		return fmt.Errorf("stack: restart %s: the stack is stopped", p.Name)
	default:
	}
	if !slices.Contains(s.Procs, p) {
		return fmt.Errorf("stack: restart %s: not a process of this stack", p.Name)
	}
	p.kill()
	p.Args[1] = p.Addr
	var err error
	for try := 0; try < 5; try++ { // the old socket may linger a moment
		if err = p.start(ctx, s.timeout); err == nil || !strings.Contains(err.Error(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("stack: restart: %w", err)
	}
	return nil
}

// Stop stops every process: TERM, then KILL after 2 s. It is idempotent and
// safe to call from several goroutines; every call returns once all
// processes have exited.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.stopAll()
		close(s.stopped)
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, p := range s.Procs {
		if pid := p.Pid(); pid != 0 {
			errs = append(errs, fmt.Errorf("stack: %s (pid %d) still running after stop", p.Name, pid))
		}
	}
	return errors.Join(errs...)
}

// stopAll stops every started process, the gateway first, in parallel.
func (s *Stack) stopAll() {
	var wg sync.WaitGroup
	for _, p := range slices.Backward(s.Procs) {
		wg.Go(func() { p.stop(2 * time.Second) })
	}
	wg.Wait()
}
