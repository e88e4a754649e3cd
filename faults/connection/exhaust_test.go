package connection

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/faultstest"
	"github.com/chaos-sre/chaos/faults/targets"
)

// acceptor is a loopback server that accepts and keeps every connection,
// so a test can close some of them.
type acceptor struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []*net.TCPConn
	next  chan struct{} // one per accepted connection
}

func newAcceptor(t *testing.T) *acceptor {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	a := &acceptor{ln: ln, next: make(chan struct{}, 1024)}
	t.Cleanup(func() {
		_ = ln.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, c := range a.conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.conns = append(a.conns, c.(*net.TCPConn))
			a.mu.Unlock()
			a.next <- struct{}{}
		}
	}()
	return a
}

// await waits for n more accepted connections.
func (a *acceptor) await(t *testing.T, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		select {
		case <-a.next:
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of %d more connections accepted", i, n)
		}
	}
}

// drop closes n of the held connections from the server's side: with a
// FIN, or with a RST when reset.
func (a *acceptor) drop(n int, reset bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.conns[:n] {
		if reset {
			_ = c.SetLinger(0)
		}
		_ = c.Close()
	}
	a.conns = a.conns[n:]
}

func totals(ps []ExhaustPoint) (refused, reset int) {
	for _, p := range ps {
		refused += p.Refused
		reset += p.Reset
	}
	return
}

// TestExhaustReopensWhatTheServerCloses: connections the server closes or
// resets are opened again, so the fault holds its count; the series and
// the summary line at rollback count them.
func TestExhaustReopensWhatTheServerCloses(t *testing.T) {
	for _, mode := range []string{"idle", "slowloris"} {
		t.Run(mode, func(t *testing.T) {
			srv := newAcceptor(t)
			addr := srv.ln.Addr().String()
			env, _ := faultstest.Env(t, targets.Target{Name: "model", Addr: addr})
			var log bytes.Buffer
			env.Log = &log
			f := &Exhaust{Count: 20, Mode: mode, Interval: 1e8}
			require.Empty(t, f.Validate())
			require.NoError(t, f.Inject(context.Background(), env))
			srv.await(t, 20)
			srv.drop(3, false) // closed
			srv.drop(2, true)  // reset
			srv.await(t, 5)    // opened again
			require.Eventually(t, func() bool {
				ps := f.Series()
				_, reset := totals(ps)
				return len(ps) > 0 && reset == 5 && ps[len(ps)-1].Held == 20
			}, 5*time.Second, 50*time.Millisecond, "a point shows all 20 held and 5 reset: %+v", f.Series())
			require.NoError(t, f.Rollback(context.Background()))
			assert.Contains(t, log.String(), fmt.Sprintf("exhaust %s: held 20/20 at the end; 5 re-opened, 0 refused, 5 reset\n", addr))
			ps := f.Series()
			refused, reset := totals(ps)
			assert.Equal(t, 0, refused)
			assert.Equal(t, 5, reset)
			for _, p := range ps {
				assert.Equal(t, addr, p.Addr)
				assert.LessOrEqual(t, p.Held, 20)
			}
			select {
			case <-srv.next:
				t.Fatal("a connection opened after rollback")
			case <-time.After(300 * time.Millisecond):
			}
			require.NoError(t, f.Rollback(context.Background()), "twice is harmless")
		})
	}
}

// TestExhaustCountsRefusedOpens: when the server stops listening, the
// connections it drops cannot be opened again: the fault holds fewer, the
// refused opens rise second after second (paced by the backoff, not a
// spin), and the summary says so.
func TestExhaustCountsRefusedOpens(t *testing.T) {
	srv := newAcceptor(t)
	addr := srv.ln.Addr().String()
	env, _ := faultstest.Env(t, targets.Target{Name: "model", Addr: addr})
	var log bytes.Buffer
	env.Log = &log
	f := &Exhaust{Count: 10, Mode: "idle"}
	require.NoError(t, f.Inject(context.Background(), env))
	srv.await(t, 10)
	require.NoError(t, srv.ln.Close())
	reserve(t, addr) // nothing else may listen there meanwhile
	srv.drop(3, true)
	var first int
	require.Eventually(t, func() bool {
		first, _ = totals(f.Series())
		return first > 0
	}, 5*time.Second, 50*time.Millisecond, "refused opens are counted")
	require.Eventually(t, func() bool {
		refused, _ := totals(f.Series())
		return refused > first
	}, 5*time.Second, 50*time.Millisecond, "and keep rising")
	require.NoError(t, f.Rollback(context.Background()))
	ps := f.Series()
	refused, reset := totals(ps)
	assert.Equal(t, 3, reset)
	assert.Equal(t, 7, ps[len(ps)-1].Held)
	assert.Less(t, refused, 60, "backed off, not spinning: %d refused", refused)
	assert.Regexp(t, regexp.QuoteMeta("exhaust "+addr+": held 7/10 at the end; 0 re-opened, ")+`\d+ refused, 3 reset`, log.String())
}

// reserve binds addr without listening, so connections to it are refused
// and no other test's listener takes the port.
func reserve(t *testing.T, addr string) {
	t.Helper()
	ap, err := net.ResolveTCPAddr("tcp", addr)
	require.NoError(t, err)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1))
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Port: ap.Port, Addr: [4]byte{127, 0, 0, 1}}))
}

// TestExhaustAtTheBacklogCountsTimeouts: a server that never accepts and
// whose backlog is full lets no more connections in; opens time out and
// count as refused while the fault holds what got in.
func TestExhaustAtTheBacklogCountsTimeouts(t *testing.T) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	defer syscall.Close(fd)
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	require.NoError(t, syscall.Listen(fd, 1))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)

	var log bytes.Buffer
	h := newHold(addr, 10, "idle", 0, &log)
	h.timeout, h.tick = 200*time.Millisecond, 200*time.Millisecond
	n, err := h.fill(context.Background())
	require.Error(t, err, "the backlog is full")
	require.Positive(t, n, "the backlog took some")
	require.Less(t, n, 10)
	h.start()
	require.Eventually(t, func() bool {
		refused, _ := totals(h.points())
		return refused >= 4
	}, 10*time.Second, 50*time.Millisecond, "timed-out opens count as refused")
	require.NoError(t, h.close(context.Background()))
	ps := h.points()
	assert.Equal(t, n, ps[len(ps)-1].Held)
	assert.Regexp(t, fmt.Sprintf(`held %d/10 at the end; 0 re-opened, \d+ refused, 0 reset`, n), log.String())
}

func TestExhaustValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     *Exhaust
		field string
	}{
		{"exhaust count", &Exhaust{Count: 0, Mode: "idle"}, "count"},
		{"exhaust mode", &Exhaust{Count: 1, Mode: "loud"}, "mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.f.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	assert.Empty(t, NewExhaust().Validate())
}

func TestExhaustHoldsConnectionsUntilRollback(t *testing.T) {
	for _, mode := range []string{"idle", "slowloris"} {
		t.Run(mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			accepted := make(chan net.Conn, 64)
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted <- c
				}
			}()
			env, _ := faultstest.Env(t, targets.Target{Name: "model", Addr: ln.Addr().String()})
			f := &Exhaust{Count: 20, Mode: mode, Interval: 1e7}
			require.Empty(t, f.Validate())
			require.NoError(t, f.Inject(context.Background(), env))
			var conns []net.Conn
			for len(conns) < 20 {
				select {
				case c := <-accepted:
					conns = append(conns, c)
				case <-time.After(2 * time.Second):
					t.Fatalf("only %d connections held", len(conns))
				}
			}
			if mode == "slowloris" {
				buf := make([]byte, 256)
				_ = conns[0].SetReadDeadline(time.Now().Add(time.Second))
				n, _ := conns[0].Read(buf)
				assert.Contains(t, string(buf[:n]), "POST / HTTP/1.1")
			}
			require.NoError(t, f.Rollback(context.Background()))
			for _, c := range conns {
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						assert.NotErrorIs(t, err, context.DeadlineExceeded)
						break
					}
				}
			}
		})
	}
}

func TestExhaustBeyondTheFDLimitOpensNothing(t *testing.T) {
	room, err := fdRoom()
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	env, j := faultstest.Env(t, targets.Target{Name: "model", Addr: ln.Addr().String()})
	f := &Exhaust{Count: room + 1, Mode: "idle"}
	err = f.Inject(context.Background(), env)
	require.ErrorContains(t, err, "file-descriptor limit")
	_ = j
}
