package gateway_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/examples/gateway"
)

func TestMainVariantFromEnv(t *testing.T) {
	f := &fault{}
	f.mode.Store(erroring)
	primary := startModel(t, "primary", f, nil)
	t.Setenv("GATEWAY_VARIANT", "no-fallback, no-shedding")
	t.Setenv("GATEWAY_PRIMARY", primary)
	t.Setenv("GATEWAY_FALLBACK", startModel(t, "fallback", nil, nil))
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- gateway.Main(ctx, []string{"--retries", "0"}, w, &stderr) }()
	line := make([]byte, 64)
	n, err := r.Read(line)
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, r) }()
	addr, ok := strings.CutPrefix(strings.TrimSpace(string(line[:n])), "listening on ")
	require.True(t, ok, string(line[:n]))

	resp, body := post(t, "http://"+addr, false)
	assert.Equal(t, 503, resp.StatusCode, "no-fallback from GATEWAY_VARIANT: %s", body)
	assert.Equal(t, 0.0, metric(t, "http://"+addr, "gateway_retries_total"), "--retries 0")
	assert.Equal(t, 0, gateway.Main(ctx, []string{"healthcheck", "--listen", addr}, io.Discard, io.Discard))
	cancel()
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("gateway did not stop")
	}
}

func TestMainRejectsBadConfig(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"unknown variant": {[]string{"--primary", "a:1", "--variant", "no-brakes"}, `unknown variant "no-brakes"`},
		"no primary":      {nil, "primary: at least one host:port"},
		"bad share":       {[]string{"--primary", "a:1", "--breaker-threshold", "lots"}, "not a share"},
		"bad threshold":   {[]string{"--primary", "a:1", "--breaker-threshold", "120%"}, "breaker-threshold 1.2"},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, 2, gateway.Main(context.Background(), tc.args, io.Discard, &stderr))
			assert.Contains(t, stderr.String(), tc.want)
		})
	}
}
