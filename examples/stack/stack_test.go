//go:build unix

package stack_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/stack"
)

func TestMain(m *testing.M) {
	stack.MaybeRunRole()
	os.Exit(m.Run())
}

func alive(pid int) bool {
	return pid > 0 && !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func chat(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Post(url+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"primary","max_tokens":4,"messages":[{"role":"user","content":"hi"}]}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStartFindRestartStop(t *testing.T) {
	ctx := context.Background()
	s, err := stack.Start(ctx, stack.Options{PrimaryArgs: []string{"--ttft", "1ms", "--token-delay", "0s"}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Stop() })

	require.Len(t, s.Procs, 4)
	assert.Len(t, s.Find("model-primary"), 2)
	assert.Len(t, s.Find("model-fallback-0"), 1)
	assert.Equal(t, []*stack.Proc{s.Gateway}, s.Find("gateway"))
	assert.Equal(t, "model-primary-1", s.Procs[1].Name)
	for _, p := range s.Procs {
		assert.True(t, alive(p.Pid()), p.Name)
		assert.Equal(t, "http://"+p.Addr, p.URL())
	}
	code, body := chat(t, s.Gateway.URL())
	assert.Equal(t, http.StatusOK, code, body)
	assert.Contains(t, body, `"model":"primary"`)

	p := s.Find("model-primary-0")[0]
	oldPid, oldAddr := p.Pid(), p.Addr
	require.NoError(t, s.Restart(ctx, p))
	assert.Equal(t, oldAddr, p.Addr)
	assert.NotEqual(t, oldPid, p.Pid())
	assert.False(t, alive(oldPid), "old process gone")
	resp, err := http.Get(p.URL() + "/healthz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	var pids []int
	for _, p := range s.Procs {
		pids = append(pids, p.Pid())
	}
	done := make(chan error, 2)
	go func() { done <- s.Stop() }()
	go func() { done <- s.Stop() }()
	require.NoError(t, <-done)
	require.NoError(t, <-done)
	for i, pid := range pids {
		assert.False(t, alive(pid), "%s pid %d still alive", s.Procs[i].Name, pid)
		assert.Zero(t, s.Procs[i].Pid())
	}
	assert.Error(t, s.Restart(ctx, p), "restart after stop")
}

func TestStartFailsOnTakenPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	var seen []*stack.Proc
	_, err = stack.Start(context.Background(), stack.Options{
		GatewayArgs: []string{"--listen", ln.Addr().String()},
		Interpose:   func(p *stack.Proc) (string, error) { seen = append(seen, p); return p.Addr, nil },
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "gateway-0")
	assert.Contains(t, err.Error(), "address already in use")
	require.Len(t, seen, 3)
	for _, p := range seen {
		assert.Zero(t, p.Pid(), p.Name)
	}
}

func TestStartErrors(t *testing.T) {
	_, err := stack.Start(context.Background(), stack.Options{Variant: []string{"no-brakes"}})
	assert.ErrorContains(t, err, `unknown gateway variant "no-brakes"`)
	_, err = stack.Start(context.Background(), stack.Options{Exe: "/nonexistent/chaos-model"})
	assert.ErrorContains(t, err, "model-primary-0")
	assert.ErrorContains(t, err, "/nonexistent/chaos-model")
}

func TestContextCancelStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, err := stack.Start(ctx, stack.Options{Primaries: 1})
	require.NoError(t, err)
	pid := s.Gateway.Pid()
	cancel()
	assert.Eventually(t, func() bool { return !alive(pid) }, 5*time.Second, 20*time.Millisecond)
	require.NoError(t, s.Stop())
}
