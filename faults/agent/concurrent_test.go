//go:build linux

package agent

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// TestConcurrentRequests: requests for several pods at once (a run's
// targets, another run, recover) are each applied, and each undone.
func TestConcurrentRequests(t *testing.T) {
	ps := &pods{}
	var nss []*nettestNS
	for i := range 3 {
		p := nettest.New(t)
		ps.set("a"+strconv.Itoa(i), p.PidA)
		ps.set("b"+strconv.Itoa(i), p.PidB)
		nss = append(nss, &nettestNS{"a" + strconv.Itoa(i), p.NSA}, &nettestNS{"b" + strconv.Itoa(i), p.NSB})
	}
	ta := startAgent(t, t.TempDir(), ps.find)
	for round := range 5 {
		var wg sync.WaitGroup
		for i, n := range nss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				kind, params := "net-latency", `{"delay":"10ms"}`
				if i%2 == 1 {
					kind, params = "partition", `{"mode":"reject","port":9}`
				}
				req := request("r"+strconv.Itoa(round)+"-"+n.uid, kind, params, n.uid, time.Minute)
				status, e := ta.call(t, http.MethodPost, PathFaults, req, nil)
				assert.Equal(t, http.StatusOK, status, "round %d %s %s: %s", round, kind, n.uid, e.Error)
			}()
		}
		wg.Wait()
		for _, n := range nss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, e := ta.call(t, http.MethodDelete, PathFaults+"/r"+strconv.Itoa(round)+"-"+n.uid, nil, nil)
				assert.Equal(t, http.StatusOK, status, e.Error)
			}()
		}
		wg.Wait()
		for _, n := range nss {
			require.Empty(t, left(t, n.ns), "round %d: %s", round, n.uid)
		}
	}
}

type nettestNS struct {
	uid string
	ns  *network.NS
}
