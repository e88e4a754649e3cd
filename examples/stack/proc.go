package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Proc is one process of the stack.
type Proc struct {
	Service string   // "model-primary", "model-fallback", "gateway"
	Index   int      // index within its service
	Name    string   // Service-Index, e.g. "model-primary-0"
	Addr    string   // host:port it listens on
	Args    []string // arguments it was started with; Args[0:2] are "--listen", Addr

	role string
	exe  string
	log  io.Writer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
	tail *tail
}

// Pid is the current process id (it changes after Restart); 0 when the
// process is not running.
func (p *Proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	select {
	case <-p.done:
		return 0
	default:
		return p.cmd.Process.Pid
	}
}

// URL is "http://" + Addr.
func (p *Proc) URL() string { return "http://" + p.Addr }

// start runs the process and waits until it reports its address and
// answers /healthz.
func (p *Proc) start(ctx context.Context, timeout time.Duration) error {
	cmd := exec.Command(p.exe, p.Args...)
	cmd.Env = append(os.Environ(), roleEnv+"="+p.role)
	cmd.SysProcAttr = procAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("%s: %w", p.Name, err)
	}
	t := &tail{}
	stderr := &lineWriter{prefix: p.Name + ": ", out: p.log, tail: t}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: start %s: %w", p.Name, p.exe, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done, p.tail = cmd, done, t
	p.mu.Unlock()
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if a, ok := strings.CutPrefix(line, "listening on "); ok {
				select {
				case addrc <- strings.TrimSpace(a):
				default:
				}
			}
			stderr.line(line)
		}
		_ = cmd.Wait()
		close(done)
	}()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	var addr string
	select {
	case addr = <-addrc:
	case <-done:
		return fmt.Errorf("%s: exited before listening (%s)%s", p.Name, cmd.ProcessState, t.String())
	case <-deadline.C:
		p.kill()
		return fmt.Errorf("%s: did not report its address within %s%s", p.Name, timeout, t.String())
	case <-ctx.Done():
		p.kill()
		return fmt.Errorf("%s: %w", p.Name, ctx.Err())
	}
	p.Addr = addr
	p.Args[1] = addr
	client := &http.Client{Timeout: 500 * time.Millisecond}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get("http://" + addr + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-tick.C:
		case <-done:
			return fmt.Errorf("%s: exited before healthy (%s)%s", p.Name, cmd.ProcessState, t.String())
		case <-deadline.C:
			p.kill()
			return fmt.Errorf("%s: /healthz on %s not OK within %s%s", p.Name, addr, timeout, t.String())
		case <-ctx.Done():
			p.kill()
			return fmt.Errorf("%s: %w", p.Name, ctx.Err())
		}
	}
}

// stop asks the process group to end (TERM; proc_unix.go), then kills it
// after grace; it returns once the process has exited.
func (p *Proc) stop(grace time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	select {
	case <-done:
		return
	default:
	}
	terminate(cmd.Process)
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	p.kill()
}

// kill kills the process group and waits for the exit.
func (p *Proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	killGroup(cmd.Process)
	<-done
}

// tail keeps a process's last log lines for error messages.
type tail struct {
	mu    sync.Mutex
	lines []string
}

func (t *tail) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.lines = append(t.lines, l); len(t.lines) > 10 {
		t.lines = t.lines[len(t.lines)-10:]
	}
}

// String is "; last log lines:\n  …" or "" when there are none.
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return ""
	}
	return "; last log lines:\n  " + strings.Join(t.lines, "\n  ")
}

// lineWriter splits a child's output into lines for the log and the tail.
type lineWriter struct {
	prefix string
	out    io.Writer
	tail   *tail
	mu     sync.Mutex
	buf    []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, b...)
	var lines []string
	for {
		i := strings.IndexByte(string(w.buf), '\n')
		if i < 0 {
			break
		}
		lines = append(lines, string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	w.mu.Unlock()
	for _, l := range lines {
		w.line(l)
	}
	return len(b), nil
}

func (w *lineWriter) line(l string) {
	w.tail.add(l)
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = fmt.Fprintf(w.out, "%s%s\n", w.prefix, l)
}
