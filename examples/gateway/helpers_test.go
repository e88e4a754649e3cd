package gateway_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
	"github.com/chaos-sre/chaos/examples/model"
)

// fault is a switchable misbehaviour in front of an in-process model.
type fault struct {
	mode  atomic.Int32 // one of the modes below
	delay atomic.Int64 // for slow
}

const (
	healthy  int32 = iota
	erroring       // 500 at once
	hanging        // never answers (until the client gives up)
	slow           // waits delay, then answers
)

func (f *fault) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/chat/completions" {
			// Read the body first: only then does the server notice a
			// client that hangs up and cancel r.Context().
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			switch f.mode.Load() {
			case erroring:
				model.WriteError(w, http.StatusInternalServerError, "injected", "server_error")
				return
			case hanging:
				<-r.Context().Done()
				return
			case slow:
				select {
				case <-time.After(time.Duration(f.delay.Load())):
				case <-r.Context().Done():
					return
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// startModel runs an in-process model server behind f (nil = none) and
// returns its host:port.
func startModel(t testing.TB, name string, f *fault, edit func(*model.Config)) string {
	t.Helper()
	cfg := model.DefaultConfig()
	cfg.Name = name
	if edit != nil {
		edit(&cfg)
	}
	m, err := model.New(cfg)
	require.NoError(t, err)
	var h http.Handler = m
	if f != nil {
		h = f.wrap(m)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// startGateway runs an in-process gateway and returns its base URL.
func startGateway(t testing.TB, cfg gateway.Config) (string, *gateway.Gateway) {
	t.Helper()
	g, err := gateway.New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(g)
	t.Cleanup(func() { srv.Close(); g.Close() })
	return srv.URL, g
}

// metric scrapes one series (`name{labels}` as exposed, labels sorted) from
// base+"/metrics"; -1 when it is absent.
func metric(t testing.TB, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return -1
}

// waitFor polls cond every 50 ms until it holds or d passes; it returns how
// long it took, or -1.
func waitFor(d time.Duration, cond func() bool) time.Duration {
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return -1
}
