package faults

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/targets"
)

func TestProxyKindValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     Fault
		field string
	}{
		{"share 0", &TTFB{Delay: 1e9}, "share"},
		{"bad direction", &Bandwidth{RateKB: 1, Share: Share{1}, Direction: Direction{"sideways"}}, "direction"},
		{"stall without for", &StreamStall{After: 1, Share: Share{1}}, "for"},
		{"negative after", &StreamCut{After: -1, Share: Share{1}}, "after"},
		{"slicer variation", &Slicer{AverageSize: 4, SizeVariation: 4, Share: Share{1}}, "size_variation"},
		{"200 without corrupt", &HTTPError{Status: 200, Share: Share{1}}, "status"},
		{"fail-first count", &FailFirst{Status: 503}, "count"},
		{"exhaust count", &Exhaust{Count: 0, Mode: "idle"}, "count"},
		{"exhaust mode", &Exhaust{Count: 1, Mode: "loud"}, "mode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := tc.f.Validate()
			require.NotEmpty(t, ps)
			assert.Equal(t, tc.field, ps[0].Field)
		})
	}
	assert.Empty(t, (&HTTPError{Status: 200, Corrupt: "malformed", Share: Share{1}}).Validate())
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
			env, _ := testEnv(t, targets.Target{Name: "model", Addr: ln.Addr().String()})
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
	env, j := testEnv(t, targets.Target{Name: "model", Addr: ln.Addr().String()})
	f := &Exhaust{Count: room + 1, Mode: "idle"}
	err = f.Inject(context.Background(), env)
	require.ErrorContains(t, err, "file-descriptor limit")
	_ = j
}

func TestConnLimitBadInput(t *testing.T) {
	for _, tc := range []struct {
		f    *ConnLimit
		want string
	}{
		{&ConnLimit{Max: 0}, "max: 0 is too few (valid: 1 or more)"},
		{&ConnLimit{Max: 5, Port: 70000}, "port: 70000 is not a port (valid: 1 to 65535)"},
		{&ConnLimit{Max: 5, Peers: []string{" "}}, "peers[0]: empty peer"},
	} {
		var got []string
		for _, p := range tc.f.Validate() {
			got = append(got, p.Field+": "+p.Msg)
		}
		assert.Contains(t, strings.Join(got, "\n"), tc.want)
	}
	assert.Empty(t, (&ConnLimit{Max: 2, Port: 8000}).Validate())
}
