//go:build linux

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/faultstest"
)

const testToken = "test-token-0123456789abcdef"

// testAgent is an agent serving on loopback, whose pods are the test's
// processes (by uid).
type testAgent struct {
	*Agent
	url string
	log *faultstest.Buffer
	srv *httptest.Server
}

// pods maps a test pod's uid to its process; the agent finds pods there.
type pods struct {
	mu   sync.Mutex
	pids map[string]int
}

func (p *pods) set(uid string, pid int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pids == nil {
		p.pids = map[string]int{}
	}
	p.pids[uid] = pid
}

func (p *pods) find(_ context.Context, pod Pod) (Proc, error) {
	p.mu.Lock()
	pid, ok := p.pids[pod.UID]
	p.mu.Unlock()
	if !ok {
		return choose("test-node", pod, nil)
	}
	return procOf(pid)
}

// startAgent starts an agent with state in dir; it is closed (undoing
// what it holds) when the test ends, unless crashed before.
func startAgent(t *testing.T, dir string, find func(context.Context, Pod) (Proc, error)) *testAgent {
	t.Helper()
	log := &faultstest.Buffer{}
	a, err := Start(context.Background(), Options{Node: "test-node", StateDir: dir, Token: testToken, Log: log, Watch: 50 * time.Millisecond, Find: find})
	require.NoError(t, err)
	srv := httptest.NewServer(a)
	ta := &testAgent{Agent: a, url: srv.URL, log: log, srv: srv}
	t.Cleanup(func() {
		srv.Close()
		_ = a.Close(context.Background())
		if t.Failed() {
			t.Logf("agent log:\n%s", log.String())
		}
	})
	return ta
}

// call sends a request with the token and decodes a 2xx answer into out;
// it returns the status and the error body of any other.
func (ta *testAgent) call(t *testing.T, method, path string, in, out any) (int, Error) {
	t.Helper()
	return callWith(t, ta.url, testToken, method, path, in, out)
}

func callWith(t *testing.T, url, token, method, path string, in, out any) (int, Error) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		require.NoError(t, err)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url+path, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set(TokenHeader, token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var e Error
	if resp.StatusCode/100 != 2 {
		require.NoError(t, json.Unmarshal(b, &e), "error body %s", b)
		return resp.StatusCode, e
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out), "body %s", b)
	}
	return resp.StatusCode, e
}

// crash stops the agent as kill -9 would: no undo; its journal stays,
// unlocked, and the changes' live undos are forgotten (as a dead
// process's are). The server stops answering.
func (ta *testAgent) crash() {
	ta.srv.Close()
	ta.stopped.Do(func() { close(ta.stop) })
	ta.loops.Wait()
	for _, e := range ta.j.Pending() {
		faults.Forget(e)
	}
	ta.mu.Lock()
	ta.held = map[string]*held{}
	ta.mu.Unlock()
	_ = ta.j.Close()
}

// request is a partition (or kind with params) of the test pod uid.
func request(id, kind, params, uid string, lease time.Duration) Request {
	return Request{ID: id, Run: "run-1", Fault: "f", Kind: kind, Params: json.RawMessage(params),
		Pod: Pod{Namespace: "ns", Name: "pod-" + uid, UID: uid}, LeaseMillis: lease.Milliseconds()}
}

// procOf is a process's Proc as FindPod would see it (no container).
func procOf(pid int) (Proc, error) {
	start, err := startTime("/proc", pid)
	if err != nil {
		return Proc{}, err
	}
	ino, err := netnsOf("/proc", pid)
	if err != nil {
		return Proc{}, err
	}
	return Proc{Pid: pid, Start: start, Netns: ino}, nil
}
